"""What the Prometheus instrumentation costs: the recorder per message, the pipeline with it on and
off, and a scrape (p50/p95 over --scrapes), on embedded defaults (SQLite store and queue).

Prints one JSON document.

    .venv/bin/python bench/metrics.py [--messages 200] [--rounds 4] [--scrapes 200]
        [--data-dir DIR]

--data-dir names a data dir to copy (one with a trained intent model, e.g. a first start's);
without it a first start trains one in a temporary folder (minutes). The texts are distinct turns
of the project's evaluation set, each sent once. The pipeline is timed per round of --messages
messages, the rounds alternating recorder on and off; `recorder_us_per_message` times the
recorder alone over the stored outcomes, which is the figure to compare with the pipeline's;
`tracing` times OpenTelemetry's spans of those outcomes the same way (off by default).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from frontdesk.config import load_settings
from frontdesk.contracts import TurnOutcome
from frontdesk.evaluation.dataset import load_items
from frontdesk.observability.exposition import readings_of, render, scrape_registry
from frontdesk.observability.logging import configure_logging
from frontdesk.observability.metrics import RECORDER, NoRecorder, Recorder
from frontdesk.observability.tracing import MessageTracer
from frontdesk.runtime.services import Services, build_services


class Collecting(Recorder):
    """Records, and keeps the stored outcomes for timing the recorder alone."""

    def __init__(self) -> None:
        self.outcomes: list[TurnOutcome] = []

    def stored(self, outcome: TurnOutcome, tripped: Sequence[str] = ()) -> None:
        self.outcomes.append(outcome)
        super().stored(outcome, tripped)


def pipeline_round(services: Services, texts: list[str], recorder: Recorder) -> float:
    """Milliseconds per message to process `texts` (accepted first, then worked off)."""
    services.pipeline.recorder = recorder
    for text in texts:
        services.intake.accept(text, "api")
    worker = services.worker("bench")
    started = time.perf_counter()
    while worker.run_once():
        pass
    return (time.perf_counter() - started) * 1000 / len(texts)


def recorder_cost(outcomes: list[TurnOutcome], repeats: int) -> float:
    """Microseconds per recorded outcome, the median of `repeats` passes over `outcomes`."""
    passes = []
    for _ in range(repeats):
        started = time.perf_counter()
        for outcome in outcomes:
            RECORDER.stored(outcome, ())
        passes.append((time.perf_counter() - started) * 1e6 / len(outcomes))
    return statistics.median(passes)


def tracer_cost(outcomes: list[TurnOutcome], repeats: int) -> dict[str, float]:
    """Microseconds per message of OpenTelemetry tracing (`[observability] otlp_endpoint`), the
    median of `repeats` passes: the intake's and the worker's spans made and handed to the batch
    processor (the message's own thread), and their OTLP protobuf encoding (the exporter's
    thread); the HTTP post to a collector is not in it."""
    kept = InMemorySpanExporter()
    tracer = MessageTracer(kept)
    passes = []
    for _ in range(repeats):
        started = time.perf_counter()
        for outcome in outcomes:
            tracer.accepted(outcome.message, time.time_ns(), True)
            tracer.decided(outcome)
        passes.append((time.perf_counter() - started) * 1e6 / len(outcomes))
    tracer.shutdown()
    spans = kept.get_finished_spans()
    encodings = []
    for _ in range(5):
        started = time.perf_counter()
        encode_spans(spans).SerializeToString()
        encodings.append((time.perf_counter() - started) * 1e6 / (len(outcomes) * repeats))
    return {
        "spans_us_per_message": round(statistics.median(passes), 2),
        "encoding_us_per_message": round(statistics.median(encodings), 2),
        "spans_per_message": round(len(spans) / (len(outcomes) * repeats), 2),
    }


def scrape_cost(services: Services, scrapes: int) -> dict[str, float]:
    registry = scrape_registry(readings_of(services.settings, services.queue, services.store))
    samples = []
    size = 0
    for _ in range(scrapes):
        started = time.perf_counter()
        body, _type = render(registry)
        samples.append((time.perf_counter() - started) * 1000)
        size = len(body)
    values = np.asarray(samples)
    return {
        "p50_ms": round(float(np.percentile(values, 50)), 3),
        "p95_ms": round(float(np.percentile(values, 95)), 3),
        "bytes": size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200, help="messages per round")
    parser.add_argument("--rounds", type=int, default=4, help="rounds, alternating on and off")
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--data-dir", type=Path, help="a data dir with a trained model to copy")
    args = parser.parse_args()
    configure_logging("warning")  # JSON lines on stderr, so stdout holds only the figures
    texts = list(dict.fromkeys(t.strip() for item in load_items() for t in item.turns if t.strip()))
    needed = args.messages * (args.rounds + 1)
    if needed > len(texts):
        raise SystemExit(f"the evaluation set has {len(texts)} distinct turns; {needed} needed")
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder) / "data"
        if args.data_dir is not None:
            shutil.copytree(args.data_dir, data_dir)
        settings = load_settings(
            data_dir=data_dir,
            routing={"calibrate_at_start": False},
            limits={"messages_per_address_per_minute": 1_000_000},
        )
        services = build_services(settings)
        try:
            batches = [texts[i : i + args.messages] for i in range(0, needed, args.messages)]
            collected = Collecting()
            pipeline_round(services, batches[0], collected)  # warm-up: caches, models, SQLite
            on, off = [], []
            for number, batch in enumerate(batches[1:]):
                recording = number % 2 == 0
                ms = pipeline_round(services, batch, RECORDER if recording else NoRecorder())
                (on if recording else off).append(ms)
            outcomes = collected.outcomes
            recorder_us = recorder_cost(outcomes, repeats=50)
            tracing = tracer_cost(outcomes, repeats=10)
            scrape = scrape_cost(services, args.scrapes)
        finally:
            services.close()
    pipeline_on = statistics.median(on)
    pipeline_off = statistics.median(off) if off else float("nan")
    print(
        json.dumps(
            {
                "machine": f"{platform.machine()} {platform.python_implementation()} "
                f"{platform.python_version()}",
                "messages_per_round": args.messages,
                "rounds": {"on": len(on), "off": len(off)},
                "recorder_us_per_message": round(recorder_us, 2),
                "recorded_outcomes": len(outcomes),
                "pipeline_ms_per_message": {
                    "recorder_on": round(pipeline_on, 3),
                    "recorder_off": round(pipeline_off, 3),
                    "rounds_on": [round(ms, 1) for ms in on],
                    "rounds_off": [round(ms, 1) for ms in off],
                },
                "recorder_share_of_pipeline": f"{recorder_us / 1000 / pipeline_off:.3%}",
                "scrape": {**scrape, "scrapes": args.scrapes},
                "tracing": tracing,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    sys.exit(main())

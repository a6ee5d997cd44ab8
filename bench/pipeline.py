"""Latency and throughput of the message path on embedded defaults (SQLite store and queue).

Prints one JSON document. Every figure is the median over --repeats runs; `http_baseline` is a
bare GET /healthz round trip measured in the same run, so ratios survive a noisy machine.

    .venv/bin/python bench/pipeline.py [--messages 1000] [--repeats 3] [--data ../shared/data]

Every message is a distinct text, used once per run, as real customers never send the same text
twice: CLINC150's utterances when `--data` holds them (23,700), otherwise the turns of the
project's evaluation set (about 1,300), shuffled by a fixed seed. The in-process phase counts
how many texts the intent features' embedding cache already held (`embedding_cache_hits`).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from frontdesk.config import load_settings
from frontdesk.embedding.minilm import packaged_encoder
from frontdesk.evaluation.dataset import load_items
from frontdesk.observability.logging import configure_logging
from frontdesk.runtime.services import build_services
from frontdesk.store.database import create_store_engine
from frontdesk.store.repository import Store
from frontdesk.store.tables import DecisionRow, MessageRow
from frontdesk.training.features import EMBEDDING_CACHE
from frontdesk.training.intent_model import SHIPPED_FEATURES
from server import ServerProcess

SHUFFLE_SEED = 15


class DistinctTexts:
    """Texts no run has sent yet: `take(n)` never returns one twice."""

    def __init__(self, data: Path | None) -> None:
        clinc = data / "clinc150" / "data_full.json" if data else None
        if clinc is not None and clinc.is_file():
            rows = json.loads(clinc.read_text(encoding="utf-8"))
            texts = [text for split in rows.values() for text, _label in split]
            self.source = "clinc150 data_full.json (all splits)"
        else:
            texts = [turn for item in load_items() for turn in item.turns]
            self.source = "the project's evaluation set (every turn)"
        self.texts = list(dict.fromkeys(text.strip() for text in texts if text.strip()))
        random.Random(SHUFFLE_SEED).shuffle(self.texts)
        self.used = 0

    def take(self, n: int) -> list[str]:
        if self.used + n > len(self.texts):
            raise SystemExit(
                f"{self.source} holds {len(self.texts)} distinct texts; this run needs more: "
                "lower --messages or --repeats, or give --data with CLINC150"
            )
        taken = self.texts[self.used : self.used + n]
        self.used += n
        return taken


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    values = np.asarray(samples_ms)
    return {
        "p50": round(float(np.percentile(values, 50)), 3),
        "p95": round(float(np.percentile(values, 95)), 3),
        "p99": round(float(np.percentile(values, 99)), 3),
    }


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(statistics.median(run[key] for run in runs), 3) for key in runs[0]}


def in_process(data_dir: Path, texts: list[str]) -> dict[str, dict[str, float]]:
    """Accept one message, then let the worker take it: the whole path without HTTP."""
    services = build_services(load_settings(data_dir=data_dir))
    services.pipeline.warm_up()  # as a running worker does before its first message
    worker = services.worker("bench")
    encoder = packaged_encoder()
    encoded, reused = encoder.encoded, encoder.reused
    accept_ms, process_ms, total_ms, ids = [], [], [], []
    hits = 0
    try:
        for text in texts:
            hits += text in EMBEDDING_CACHE
            started = time.perf_counter()
            ids.append(services.intake.accept(text, "api").message.id)
            accepted = time.perf_counter()
            worker.run_once()
            done = time.perf_counter()
            accept_ms.append((accepted - started) * 1000)
            process_ms.append((done - accepted) * 1000)
            total_ms.append((done - started) * 1000)
        with services.store.session() as session:
            stored = session.scalars(
                select(DecisionRow.latency_ms).where(DecisionRow.message_id.in_(ids))
            ).all()
    finally:
        services.close()
    stages: dict[str, list[float]] = {}
    for latencies in stored:
        for stage, ms in latencies.items():
            stages.setdefault(stage, []).append(ms)
    return {
        "accept": percentiles(accept_ms),
        "process": percentiles(process_ms),
        "accept_and_process": percentiles(total_ms),
        **{f"stage_{stage}": percentiles(values) for stage, values in sorted(stages.items())},
        "embedding_cache_hits": {"count": hits},
        # Texts run through MiniLM, and vectors the encoder reused: a message the knowledge
        # search encodes again after the intent agent did (any other text is distinct).
        "minilm_texts": {
            "encoded": encoder.encoded - encoded,
            "reused": encoder.reused - reused,
        },
    }


def server_side_answer_ms(store: Store, message_ids: list[str]) -> list[float]:
    """Received → decided, from the store's own timestamps."""
    with store.session() as session:
        rows = session.execute(
            select(MessageRow.received_at, DecisionRow.created_at)
            .join(DecisionRow, DecisionRow.message_id == MessageRow.id)
            .where(MessageRow.id.in_(message_ids))
        ).all()
    return [(decided - received).total_seconds() * 1000 for received, decided in rows]


def wait_processed(store: Store, total: int, timeout: float = 300, poll: float = 0.01) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if store.count_messages().get("processed", 0) >= total:
            return time.perf_counter()
        time.sleep(poll)
    raise TimeoutError(f"{total} messages not processed within {timeout} s")


def decide_first(client: httpx.Client, store: Store, text: str) -> int:
    """Post one message and wait until it is decided: after that the service's worker runs and
    its models are loaded, so what is timed next is a running service, not one starting up.
    Returns how many messages the store holds processed."""
    before = store.count_messages().get("processed", 0)
    client.post("/v1/messages", json={"text": text}).raise_for_status()
    wait_processed(store, before + 1)
    return before + 1


def over_http(server: ServerProcess, store: Store, texts: list[str]) -> dict[str, object]:
    """One customer at a time, as a chat is used: post, then wait until the decision is stored
    (the store is looked at every millisecond), then the next. The server has decided one
    message first, so its worker runs and its models are loaded."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        warm, *measured = texts
        before = decide_first(client, store, warm)
        baseline_ms, accept_ms, seen_ms, ids = [], [], [], []
        for text in measured:
            started = time.perf_counter()
            client.get("/healthz")
            baseline_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            response = client.post("/v1/messages", json={"text": text})
            accept_ms.append((time.perf_counter() - started) * 1000)
            ids.append(response.json()["message_id"])
            before += 1
            seen_ms.append((wait_processed(store, before, poll=0.001) - started) * 1000)
    answer_ms = server_side_answer_ms(store, ids)
    return {
        "http_baseline": percentiles(baseline_ms),
        "http_accept": percentiles(accept_ms),
        "post_to_decision_seen": percentiles(seen_ms),
        "accept_to_decision": percentiles(answer_ms),
    }


def sustained(server: ServerProcess, store: Store, texts: list[str], posters: int) -> float:
    """Messages per second from the first post until the last message is processed."""
    before = store.count_messages().get("processed", 0)
    with httpx.Client(base_url=server.url, timeout=30) as client:

        def post(text: str) -> None:
            client.post("/v1/messages", json={"text": text}).raise_for_status()

        started = time.perf_counter()
        with ThreadPoolExecutor(posters) as pool:
            list(pool.map(post, texts))
    finished = wait_processed(store, before + len(texts))
    return len(texts) / (finished - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--posters", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument("--data", type=Path, default=None, help="../shared/data, for CLINC150")
    args = parser.parse_args()
    configure_logging("warning")  # stdout is the JSON document
    texts = DistinctTexts(args.data)

    in_process_runs, http_runs = [], []
    rates: dict[str, list[float]] = {"serve": [], "serve_plus_worker_process": []}
    models = tempfile.TemporaryDirectory()
    trained = Path(models.name) / "data"
    # A first start trains the intent model; each run starts from a copy of one, as a deployment
    # does after its first start, so runs time the message path and not training.
    build_services(load_settings(data_dir=trained)).close()
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as folder:
            data_dir = Path(folder) / "data"
            shutil.copytree(trained / "models", data_dir / "models")
            in_process_runs.append(in_process(data_dir, texts.take(args.messages)))
            env = {"FRONTDESK_DATA_DIR": str(data_dir)}
            store = Store(create_store_engine(f"sqlite:///{data_dir / 'frontdesk.db'}"))
            server = ServerProcess(env, Path(folder) / "log")
            server.start()
            try:
                http_runs.append(over_http(server, store, texts.take(args.messages)))
                rates["serve"].append(
                    sustained(server, store, texts.take(args.messages), args.posters)
                )
            finally:
                server.stop()
            # Scale-out on one machine: the API process and a worker process use a core each.
            server = ServerProcess(env, Path(folder) / "log", ("serve", "--no-worker"))
            worker = ServerProcess(env, Path(folder) / "log", ("worker",))
            server.start()
            worker.start(wait_ready=False)
            try:
                with httpx.Client(base_url=server.url, timeout=30) as client:
                    decide_first(client, store, texts.take(1)[0])
                rate = sustained(server, store, texts.take(args.messages), args.posters)
                rates["serve_plus_worker_process"].append(rate)
            finally:
                worker.stop()
                server.stop()
                store.engine.dispose()

    http = {key: median_of([run[key] for run in http_runs]) for key in http_runs[0]}
    result = {
        "benchmark": "pipeline",
        "config": "embedded defaults: SQLite store (WAL), SQLite queue, the intent model a first "
        f"start trains ({'/'.join(SHIPPED_FEATURES)}, calibrated), copied into each run",
        "messages_per_phase": args.messages,
        "texts": {
            "source": texts.source,
            "distinct_available": len(texts.texts),
            "sent": texts.used,
            "each_sent_once": True,
        },
        "repeats": args.repeats,
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "in_process_ms": {
            key: median_of([run[key] for run in in_process_runs]) for key in in_process_runs[0]
        },
        "http_ms": http,
        "http_accept_over_baseline_p50": round(
            http["http_accept"]["p50"] / http["http_baseline"]["p50"], 2
        ),
        "post_to_decision_seen_over_baseline_p50": round(
            http["post_to_decision_seen"]["p50"] / http["http_baseline"]["p50"], 2
        ),
        "sustained_messages_per_second": {
            topology: {
                "median": round(statistics.median(runs), 1),
                "runs": [round(rate, 1) for rate in runs],
            }
            for topology, runs in rates.items()
        },
        "posters": args.posters,
    }
    models.cleanup()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

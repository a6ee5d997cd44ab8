"""Latency and throughput of the message path on embedded defaults (SQLite store and queue).

Prints one JSON document. Every figure is the median over --repeats runs; `http_baseline` is a
bare GET /healthz round trip measured in the same run, so ratios survive a noisy machine.

    .venv/bin/python bench/pipeline.py [--messages 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import platform
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
from frontdesk.runtime.services import build_services
from frontdesk.store.database import create_store_engine
from frontdesk.store.repository import Store
from frontdesk.store.tables import DecisionRow, MessageRow
from frontdesk.training.intent_model import SHIPPED_FEATURES
from server import ServerProcess

TEXTS = [
    "where is my order?",
    "I want to return the lamp I bought",
    "how long do refunds take?",
    "do you ship to norway",
    "my card was charged twice",
    "how do I reset my password",
    "can I talk to a real person",
    "what's the weather like tomorrow",
    "hi there",
    "the mug arrived broken",
]


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    values = np.asarray(samples_ms)
    return {
        "p50": round(float(np.percentile(values, 50)), 3),
        "p95": round(float(np.percentile(values, 95)), 3),
        "p99": round(float(np.percentile(values, 99)), 3),
    }


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(statistics.median(run[key] for run in runs), 3) for key in runs[0]}


def in_process(data_dir: Path, messages: int) -> dict[str, dict[str, float]]:
    """Accept one message, then let the worker take it: the whole path without HTTP."""
    services = build_services(load_settings(data_dir=data_dir))
    worker = services.worker("bench")
    accept_ms, process_ms, total_ms = [], [], []
    try:
        for i in range(messages):
            started = time.perf_counter()
            services.intake.accept(TEXTS[i % len(TEXTS)], "api")
            accepted = time.perf_counter()
            worker.run_once()
            done = time.perf_counter()
            accept_ms.append((accepted - started) * 1000)
            process_ms.append((done - accepted) * 1000)
            total_ms.append((done - started) * 1000)
    finally:
        services.close()
    return {
        "accept": percentiles(accept_ms),
        "process": percentiles(process_ms),
        "accept_and_process": percentiles(total_ms),
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


def wait_processed(store: Store, total: int, timeout: float = 300) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if store.count_messages().get("processed", 0) >= total:
            return time.perf_counter()
        time.sleep(0.01)
    raise TimeoutError(f"{total} messages not processed within {timeout} s")


def over_http(server: ServerProcess, store: Store, messages: int) -> dict[str, object]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        baseline_ms, accept_ms, ids = [], [], []
        for i in range(messages):
            started = time.perf_counter()
            client.get("/healthz")
            baseline_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            response = client.post("/v1/messages", json={"text": TEXTS[i % len(TEXTS)]})
            accept_ms.append((time.perf_counter() - started) * 1000)
            ids.append(response.json()["message_id"])
            time.sleep(0.005)  # paced: latency of a service that keeps up, not of a backlog
        already = store.count_messages().get("processed", 0)
        wait_processed(store, already)
    answer_ms = server_side_answer_ms(store, ids)
    return {
        "http_baseline": percentiles(baseline_ms),
        "http_accept": percentiles(accept_ms),
        "accept_to_decision": percentiles(answer_ms),
    }


def sustained(server: ServerProcess, store: Store, messages: int, posters: int) -> float:
    """Messages per second from the first post until the last message is processed."""
    before = store.count_messages().get("processed", 0)
    with httpx.Client(base_url=server.url, timeout=30) as client:

        def post(i: int) -> None:
            client.post("/v1/messages", json={"text": TEXTS[i % len(TEXTS)]}).raise_for_status()

        started = time.perf_counter()
        with ThreadPoolExecutor(posters) as pool:
            list(pool.map(post, range(messages)))
    finished = wait_processed(store, before + messages)
    return messages / (finished - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--posters", type=int, default=8, help="concurrent HTTP clients")
    args = parser.parse_args()

    in_process_runs, http_runs = [], []
    rates: dict[str, list[float]] = {"serve": [], "serve_plus_worker_process": []}
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as folder:
            data_dir = Path(folder) / "data"
            in_process_runs.append(in_process(data_dir, args.messages))
            env = {"FRONTDESK_DATA_DIR": str(data_dir)}
            store = Store(create_store_engine(f"sqlite:///{data_dir / 'frontdesk.db'}"))
            server = ServerProcess(env, Path(folder) / "log")
            server.start()
            try:
                http_runs.append(over_http(server, store, args.messages))
                rates["serve"].append(sustained(server, store, args.messages, args.posters))
            finally:
                server.stop()
            # Scale-out on one machine: the API process and a worker process use a core each.
            server = ServerProcess(env, Path(folder) / "log", ("serve", "--no-worker"))
            worker = ServerProcess(env, Path(folder) / "log", ("worker",))
            server.start()
            worker.start(wait_ready=False)
            try:
                rate = sustained(server, store, args.messages, args.posters)
                rates["serve_plus_worker_process"].append(rate)
            finally:
                worker.stop()
                server.stop()
                store.engine.dispose()

    http = {key: median_of([run[key] for run in http_runs]) for key in http_runs[0]}
    result = {
        "benchmark": "pipeline",
        "config": "embedded defaults: SQLite store (WAL), SQLite queue, the intent model a first "
        f"start trains ({'/'.join(SHIPPED_FEATURES)}, calibrated)",
        "messages_per_run": args.messages,
        "repeats": args.repeats,
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "in_process_ms": {
            key: median_of([run[key] for run in in_process_runs]) for key in in_process_runs[0]
        },
        "http_ms": http,
        "http_accept_over_baseline_p50": round(
            http["http_accept"]["p50"] / http["http_baseline"]["p50"], 2
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
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

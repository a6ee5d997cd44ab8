"""Messages decided per second on PostgreSQL + Redis by 1, 2 and 4 `frontdesk worker` processes
behind one `frontdesk serve --no-worker`.

Prints one JSON document.

    .venv/bin/python bench/scaleout.py [--workers 1,2,4] [--messages 400] [--repeats 3]

Each configuration gets a private PostgreSQL and Redis (free ports, temporary folders; the shared
servers are never touched), as `tests/fault_cluster.py` starts them, with the intent model a first
start trains copied in. Once every worker has logged that its loop runs and a first message is
decided, `--posters` clients post `--messages` distinct texts (the evaluation set's turns, or
CLINC150's with `--data`; none is sent twice in the whole run) and the rate is the messages
decided from the first post until the last is processed. `accepted_per_second` is the intake
alone. Medians over `--repeats` runs, each on new servers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fault_cluster import Cluster
from frontdesk.config import load_settings
from frontdesk.runtime.services import build_services
from frontdesk.store.database import create_store_engine
from frontdesk.store.repository import Store
from frontdesk.training.models_dir import model_dir
from pipeline import DistinctTexts, decide_first, wait_processed
from private_servers import missing_binaries


def one_run(models: Path, workers: int, texts: list[str], warm: str, posters: int) -> dict:
    batch_size = load_settings().worker.batch_size
    cluster = Cluster(models, workers, lease_seconds=30, batch_size=batch_size)
    try:
        cluster.start()
        store = Store(create_store_engine(cluster.store_url))
        try:
            with httpx.Client(base_url=cluster.url, timeout=30) as client:
                decided = decide_first(client, store, warm)

                def post(text: str) -> None:
                    client.post("/v1/messages", json={"text": text}).raise_for_status()

                started = time.perf_counter()
                with ThreadPoolExecutor(posters) as pool:
                    list(pool.map(post, texts))
                accepted = time.perf_counter()
            finished = wait_processed(store, decided + len(texts))
        finally:
            store.engine.dispose()
    finally:
        cluster.stop()
        cluster.remove()
    return {
        "decided_per_second": round(len(texts) / (finished - started), 1),
        "accepted_per_second": round(len(texts) / (accepted - started), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2,4", help="worker processes per configuration")
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--posters", type=int, default=8)
    parser.add_argument("--data", type=Path, default=None, help="../shared/data, for CLINC150")
    args = parser.parse_args()
    if why := missing_binaries():
        raise SystemExit(why)
    counts = [int(n) for n in args.workers.split(",")]
    texts = DistinctTexts(args.data)
    trained = tempfile.TemporaryDirectory()
    data_dir = Path(trained.name) / "data"
    build_services(load_settings(data_dir=data_dir)).close()
    runs: dict[int, list[dict]] = {n: [] for n in counts}
    load = os.getloadavg()
    for _ in range(args.repeats):
        for n in counts:
            [warm] = texts.take(1)
            runs[n].append(
                one_run(model_dir(data_dir), n, texts.take(args.messages), warm, args.posters)
            )
    trained.cleanup()
    result = {
        "benchmark": "scaleout",
        "config": "private PostgreSQL 15 + Redis, `frontdesk serve --no-worker` and N × "
        "`frontdesk worker`, worker batch size from the defaults",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "load_average_at_start": [round(x, 2) for x in load],
        "messages_per_run": args.messages,
        "posters": args.posters,
        "texts": {"source": texts.source, "sent": texts.used, "each_sent_once": True},
        "workers": {
            str(n): {
                key: {
                    "median": statistics.median(run[key] for run in runs[n]),
                    "runs": [run[key] for run in runs[n]],
                }
                for key in ("decided_per_second", "accepted_per_second")
            }
            for n in counts
        },
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

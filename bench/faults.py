"""Faults survived on PostgreSQL + Redis with several workers: nothing lost, nothing twice.

Prints one JSON document.

    .venv/bin/python bench/faults.py [--messages 10000] [--workers 3] [--data ../shared/data]

Starts a private PostgreSQL and Redis (free ports, temporary folders; the shared servers are never
touched), `frontdesk serve --no-worker` and `--workers` × `frontdesk worker`, then sends distinct
messages at a steady rate, real-time conversations that cancel orders and return items among
them, while the faults happen: SIGKILL of a random worker at random moments (a new one starts in
its place), Redis killed and started again empty (it keeps nothing on disk), PostgreSQL stopped
immediately and started again; then a burst at ten times the steady rate. Reports, from the store
afterwards: messages lost, answered twice, side effects applied twice, dead letters; and the
recovery times (killed worker: until the messages it held are processed; Redis and PostgreSQL:
readiness false while down, the time until it is true again and until everything accepted before
the fault is processed), the burst's peak queue depth and its time to drain.

The scenario is `tests/fault_scenario.py`; `tests/test_faults.py` runs a small one in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fault_cluster import Cluster
from fault_scenario import Plan, Scenario
from frontdesk.config import load_settings
from frontdesk.runtime.services import build_services
from frontdesk.training.models_dir import model_dir
from private_servers import missing_binaries

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--rate", type=float, default=10.0, help="steady messages per second")
    parser.add_argument("--kills", type=int, default=3, help="workers SIGKILLed at random")
    parser.add_argument("--conversations", type=int, default=90, help="real-time, 4 turns each")
    parser.add_argument("--burst-share", type=float, default=0.2)
    parser.add_argument("--lease-seconds", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--models", type=Path, default=None, help="a trained data dir's models")
    parser.add_argument(
        "--data",
        type=Path,
        default=SHARED_DATA if SHARED_DATA.is_dir() else None,
        help="../shared/data, for CLINC150's texts (else the evaluation set's, about 1,300)",
    )
    args = parser.parse_args()
    if why := missing_binaries():
        raise SystemExit(why)
    plan = Plan(
        messages=args.messages,
        workers=args.workers,
        rate=args.rate,
        burst_share=args.burst_share,
        kills=args.kills,
        conversations=args.conversations,
        lease_seconds=args.lease_seconds,
        data=args.data,
        seed=args.seed,
    )
    trained = tempfile.TemporaryDirectory()
    models = args.models
    if models is None:
        # A first start trains the intent model; the cluster starts from a copy of it.
        data_dir = Path(trained.name) / "data"
        build_services(load_settings(data_dir=data_dir)).close()
        models = model_dir(data_dir)
    load = os.getloadavg()
    cluster = Cluster(models, plan.workers, plan.lease_seconds, plan.batch_size)
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    try:
        cluster.start()
        result = Scenario(plan, cluster).run()
    finally:
        cluster.stop()
    cluster.remove()
    trained.cleanup()
    print(
        json.dumps(
            {
                "benchmark": "faults",
                "config": f"private PostgreSQL 15 + Redis {plan.workers} × `frontdesk worker`, "
                "`frontdesk serve --no-worker`",
                "started": started,
                "load_average_at_start": [round(x, 2) for x in load],
                "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
                "messages": plan.messages,
                "workers": plan.workers,
                "lease_seconds": plan.lease_seconds,
                "batch_size": plan.batch_size,
                **result,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

"""The worker's thread loop: it reads ahead before its first message, and a failure to read
ahead costs speed, never the worker."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from frontdesk.runtime.worker import Worker


class NothingStranded:
    def stranded_messages(self, older_than: timedelta) -> list[str]:
        return []


class CountingQueue:
    """Empty; stops the worker at its second look, so the loop provably went round."""

    def __init__(self) -> None:
        self.claims = 0
        self.worker: Worker | None = None

    def claim(self, consumer: str, max_jobs: int, wait_seconds: float) -> list[Any]:
        self.claims += 1
        if self.claims == 2 and self.worker is not None:
            self.worker.stopping.set()
        return []


class Pipeline:
    def __init__(self, fails: bool) -> None:
        self.fails = fails
        self.warmed = 0

    def warm_up(self) -> None:
        self.warmed += 1
        if self.fails:
            raise RuntimeError("the store is down")


def loop(fails: bool) -> tuple[Pipeline, CountingQueue]:
    pipeline, queue = Pipeline(fails), CountingQueue()
    worker = Worker(
        cast(Any, NothingStranded()),
        cast(Any, queue),
        cast(Any, pipeline),
        "test",
        batch_size=4,
        idle_poll_seconds=0,
        lease_seconds=30,
    )
    queue.worker = worker
    worker.run()
    return pipeline, queue


def test_the_worker_reads_ahead_once_before_it_claims() -> None:
    pipeline, queue = loop(fails=False)
    assert pipeline.warmed == 1 and queue.claims == 2


def test_a_worker_that_cannot_read_ahead_still_runs() -> None:
    pipeline, queue = loop(fails=True)
    assert pipeline.warmed == 1 and queue.claims == 2

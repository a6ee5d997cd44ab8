"""The same cases for the embedded SQLite queue and Redis Streams."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import REDIS_URL
from frontdesk.queue.base import Queue
from frontdesk.queue.redis_streams import RedisStreamsQueue
from frontdesk.queue.sqlite import SqliteQueue

LEASE = 0.3
MAX_ATTEMPTS = 3


@pytest.fixture(params=["sqlite", "redis"])
def queue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Queue]:
    if request.param == "sqlite":
        built: Queue = SqliteQueue(tmp_path / "queue.db", LEASE, MAX_ATTEMPTS)
    else:
        name = request.getfixturevalue("redis_queue_name")
        built = RedisStreamsQueue(REDIS_URL, name, LEASE, MAX_ATTEMPTS)
    yield built
    built.close()


def test_claimed_job_is_invisible_until_its_lease_runs_out(queue: Queue) -> None:
    queue.enqueue(["m1"])
    [job] = queue.claim("a", 10, 0.1)
    assert (job.message_id, job.attempt) == ("m1", 1)
    assert queue.claim("b", 10, 0.05) == []
    time.sleep(LEASE + 0.1)
    [again] = queue.claim("b", 10, 0.1)
    assert (again.message_id, again.attempt) == ("m1", 2)


def test_ack_removes_the_job(queue: Queue) -> None:
    queue.enqueue(["m1", "m2"])
    jobs = queue.claim("a", 10, 0.1)
    assert sorted(job.message_id for job in jobs) == ["m1", "m2"]
    assert queue.depth() == 2
    queue.ack(jobs)
    assert queue.depth() == 0
    time.sleep(LEASE + 0.1)
    assert queue.claim("a", 10, 0.05) == []


def test_claim_respects_the_batch_size_and_keeps_order(queue: Queue) -> None:
    queue.enqueue([f"m{i}" for i in range(5)])
    first = queue.claim("a", 3, 0.1)
    second = queue.claim("a", 3, 0.1)
    assert [job.message_id for job in first] == ["m0", "m1", "m2"]
    assert [job.message_id for job in second] == ["m3", "m4"]


def test_retry_waits_for_the_delay_then_counts_the_attempt(queue: Queue) -> None:
    queue.enqueue(["m1"])
    [job] = queue.claim("a", 1, 0.1)
    assert queue.retry(job, "boom", delay_seconds=0.3) is None
    assert queue.claim("a", 1, 0.05) == []
    time.sleep(0.35)
    [again] = queue.claim("a", 1, 0.1)
    assert (again.message_id, again.attempt) == ("m1", 2)


def test_retry_past_max_attempts_dead_letters(queue: Queue) -> None:
    queue.enqueue(["m1"])
    for attempt in range(1, MAX_ATTEMPTS + 1):
        [job] = queue.claim("a", 1, 0.5)
        assert job.attempt == attempt
        dead = queue.retry(job, f"failure {attempt}", delay_seconds=0)
    assert dead is not None and dead.attempts == MAX_ATTEMPTS
    assert [(d.message_id, d.error) for d in queue.dead_letters()] == [("m1", "failure 3")]
    assert queue.depth() == 0


def test_expired_leases_past_max_attempts_dead_letter(queue: Queue) -> None:
    queue.enqueue(["m1"])
    for _ in range(MAX_ATTEMPTS):
        assert queue.claim("a", 1, 0.5)
        time.sleep(LEASE + 0.05)
    assert queue.claim("a", 1, 0.05) == []
    assert [d.message_id for d in queue.dead_letters()] == ["m1"]


def test_concurrent_consumers_never_share_a_job(queue: Queue) -> None:
    queue.enqueue([f"m{i}" for i in range(200)])
    seen: list[str] = []
    lock = threading.Lock()

    def consume(name: str) -> None:
        while jobs := queue.claim(name, 7, 0.2):
            with lock:
                seen.extend(job.message_id for job in jobs)
            queue.ack(jobs)

    threads = [threading.Thread(target=consume, args=(f"c{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == sorted(f"m{i}" for i in range(200))


def test_a_waiting_claim_wakes_for_a_new_job(queue: Queue) -> None:
    threading.Timer(0.2, queue.enqueue, args=(["late"],)).start()
    started = time.monotonic()
    jobs = queue.claim("a", 1, 3.0)
    assert [job.message_id for job in jobs] == ["late"]
    assert time.monotonic() - started < 2.0

"""The same cases for the embedded SQLite queue and Redis Streams.

Time is moved, not waited for: both queues stamp leases and retry delays from a clock the test
holds, and for Redis, whose server measures a lease by the entry's idle time, moving time also
ages the pending entries on the server (XCLAIM … IDLE), exactly as waiting would.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from conftest import REDIS_URL, WatchedCondition
from frontdesk.queue.base import Queue
from frontdesk.queue.redis_streams import RedisStreamsQueue
from frontdesk.queue.sqlite import SqliteQueue

LEASE = 30.0  # long, so real time passing during a test never expires a lease by itself
MAX_ATTEMPTS = 3


@dataclass
class TestClock:
    """Epoch seconds that move only when told to."""

    __test__ = False  # not a test class, despite the name
    now: float = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Backend:
    queue: Queue
    clock: TestClock
    redis_client_name: str | None = None  # names the queue's own Redis connections
    waiting: threading.Event = field(default_factory=threading.Event)

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass for the queue."""
        self.clock.now += seconds
        if isinstance(self.queue, RedisStreamsQueue):
            age_pending_entries(self.queue, seconds)

    def claim_is_waiting(self) -> bool:
        """A claim is blocked waiting for a job to arrive."""
        if self.redis_client_name is None:
            return self.waiting.is_set()
        with redis.Redis.from_url(REDIS_URL) as observer:
            return any(
                client.get("name") == self.redis_client_name
                and client.get("cmd") == "xreadgroup"
                and "b" in client.get("flags", "")
                for client in observer.client_list()
            )


def age_pending_entries(queue: RedisStreamsQueue, seconds: float) -> None:
    """What `seconds` of waiting does to leases held in Redis: every pending entry's idle time
    grows by that much. XCLAIM with IDLE sets it; JUSTID and RETRYCOUNT keep the delivery count
    and the owner is kept, so nothing but the idle time changes."""
    pending = queue.client.xpending_range(queue.stream, queue.group, "-", "+", 10_000)
    for entry in pending:
        queue.client.xclaim(
            queue.stream,
            queue.group,
            entry["consumer"],
            min_idle_time=0,
            message_ids=[entry["message_id"]],
            idle=entry["time_since_delivered"] + int(seconds * 1000),
            retrycount=entry["times_delivered"],
            justid=True,
        )


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    clock = TestClock()
    if request.param == "sqlite":
        built = Backend(SqliteQueue(tmp_path / "queue.db", LEASE, MAX_ATTEMPTS, clock), clock)
        # A claim waits on this condition; watching it shows when a claim is waiting.
        wakeup = WatchedCondition()
        built.queue._wakeup = wakeup  # type: ignore[attr-defined]
        built.waiting = wakeup.waiting
    else:
        name = request.getfixturevalue("redis_queue_name")
        client_name = f"{name}-{uuid.uuid4().hex[:6]}"
        url = f"{REDIS_URL}?client_name={client_name}"
        queue = RedisStreamsQueue(url, name, LEASE, MAX_ATTEMPTS, clock)
        built = Backend(queue, clock, client_name)
    yield built
    built.queue.close()


@pytest.fixture
def queue(backend: Backend) -> Queue:
    return backend.queue


def test_claimed_job_is_invisible_until_its_lease_runs_out(backend: Backend, queue: Queue) -> None:
    queue.enqueue(["m1"])
    [job] = queue.claim("a", 10, 0)
    assert (job.message_id, job.attempt) == ("m1", 1)
    assert queue.claim("b", 10, 0) == []
    backend.advance(LEASE - 1)
    assert queue.claim("b", 10, 0) == []
    backend.advance(1)
    [again] = queue.claim("b", 10, 0)
    assert (again.message_id, again.attempt) == ("m1", 2)


def test_ack_removes_the_job(backend: Backend, queue: Queue) -> None:
    queue.enqueue(["m1", "m2"])
    jobs = queue.claim("a", 10, 0)
    assert sorted(job.message_id for job in jobs) == ["m1", "m2"]
    assert queue.depth() == 2
    queue.ack(jobs)
    assert queue.depth() == 0
    backend.advance(LEASE + 1)
    assert queue.claim("a", 10, 0) == []


def test_claim_respects_the_batch_size_and_keeps_order(queue: Queue) -> None:
    queue.enqueue([f"m{i}" for i in range(5)])
    first = queue.claim("a", 3, 0)
    second = queue.claim("a", 3, 0)
    assert [job.message_id for job in first] == ["m0", "m1", "m2"]
    assert [job.message_id for job in second] == ["m3", "m4"]


def test_retry_waits_for_the_delay_then_counts_the_attempt(backend: Backend, queue: Queue) -> None:
    queue.enqueue(["m1"])
    [job] = queue.claim("a", 1, 0)
    assert queue.retry(job, "boom", delay_seconds=10) is None
    assert queue.claim("a", 1, 0) == []
    backend.advance(9)
    assert queue.claim("a", 1, 0) == []
    backend.advance(1)
    [again] = queue.claim("a", 1, 0)
    assert (again.message_id, again.attempt) == ("m1", 2)


def test_retry_past_max_attempts_dead_letters(queue: Queue) -> None:
    queue.enqueue(["m1"])
    for attempt in range(1, MAX_ATTEMPTS + 1):
        [job] = queue.claim("a", 1, 0)
        assert job.attempt == attempt
        dead = queue.retry(job, f"failure {attempt}", delay_seconds=0)
    assert dead is not None and dead.attempts == MAX_ATTEMPTS
    assert [(d.message_id, d.error) for d in queue.dead_letters()] == [("m1", "failure 3")]
    assert queue.depth() == 0


def test_expired_leases_past_max_attempts_dead_letter(backend: Backend, queue: Queue) -> None:
    queue.enqueue(["m1"])
    for attempt in range(1, MAX_ATTEMPTS + 1):
        [job] = queue.claim("a", 1, 0)
        assert job.attempt == attempt
        backend.advance(LEASE)
    assert queue.dead_letters() == []
    assert queue.claim("a", 1, 0) == []
    assert [(d.message_id, d.attempts) for d in queue.dead_letters()] == [("m1", MAX_ATTEMPTS)]
    assert queue.depth() == 0


def test_concurrent_consumers_never_share_a_job(queue: Queue) -> None:
    queue.enqueue([f"m{i}" for i in range(200)])
    seen: list[str] = []
    lock = threading.Lock()

    def consume(name: str) -> None:
        # Leases are long, so a claim that finds nothing means every job has been handed out.
        while jobs := queue.claim(name, 7, 0):
            with lock:
                seen.extend(job.message_id for job in jobs)
            queue.ack(jobs)

    threads = [threading.Thread(target=consume, args=(f"c{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == sorted(f"m{i}" for i in range(200))
    assert queue.depth() == 0


def test_a_waiting_claim_wakes_for_a_new_job(backend: Backend, queue: Queue) -> None:
    claimed: list[list[str]] = []
    claimer = threading.Thread(
        target=lambda: claimed.append([job.message_id for job in queue.claim("a", 1, 30)])
    )
    claimer.start()
    # Enqueue only once the claim is waiting, so it is the wait that receives the job. The loop
    # looks at a condition and gives up after a bound; it measures nothing.
    for _ in range(1000):
        if backend.claim_is_waiting():
            break
        time.sleep(0.005)
    else:
        pytest.fail("the claim never started waiting")
    queue.enqueue(["late"])
    claimer.join(timeout=30)
    assert claimed == [["late"]]

"""The same cases for the embedded SQLite queue and Redis Streams.

Time is moved, not waited for: both queues stamp leases and retry delays from a clock the test
holds, and for Redis, whose server measures a lease by the entry's idle time, moving time also
ages the pending entries on the server (XCLAIM … IDLE), exactly as waiting would.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from conftest import REDIS_URL, WatchedCondition
from frontdesk.queue.base import DeadLetter, Queue
from frontdesk.queue.redis_streams import RedisStreamsQueue
from frontdesk.queue.sqlite import SqliteQueue

LEASE = 30.0  # long, so real time passing during a test never expires a lease by itself
MAX_ATTEMPTS = 3
# The highest id a Redis stream can hold: a stream whose last id is this refuses every XADD.
LAST_STREAM_ID = "18446744073709551615-18446744073709551615"


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

    @contextmanager
    def making_jobs_deliverable_fails(self) -> Iterator[None]:
        """While the block runs, the server refuses the write that makes a job deliverable: a
        crash at exactly that point, without killing anything. SQLite: triggers abort every
        insert and update of a job (enqueueing, claiming); Redis: the stream is set to its
        last possible id, so every XADD fails."""
        if isinstance(self.queue, SqliteQueue):
            with closing(sqlite3.connect(self.queue.path, isolation_level=None)) as db:
                for change in ("INSERT", "UPDATE"):
                    db.execute(
                        f"CREATE TRIGGER refuse_{change} BEFORE {change} ON jobs"
                        " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
                    )
                try:
                    yield
                finally:
                    db.execute("DROP TRIGGER refuse_INSERT")
                    db.execute("DROP TRIGGER refuse_UPDATE")
            return
        assert isinstance(self.queue, RedisStreamsQueue)
        client, stream = self.queue.client, self.queue.stream
        last_id = client.xinfo_stream(stream)["last-generated-id"]
        client.execute_command("XSETID", stream, LAST_STREAM_ID)
        try:
            yield
        finally:
            client.execute_command("XSETID", stream, last_id)

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


def test_enqueueing_a_message_with_a_job_changes_nothing(backend: Backend, queue: Queue) -> None:
    queue.enqueue(["m1", "m2", "m1"])
    queue.enqueue(["m1"])
    assert queue.depth() == 2
    [job] = queue.claim("a", 1, 0)
    assert job.message_id == "m1"  # it kept its place, ahead of m2
    queue.enqueue(["m1"])  # leased
    assert [j.message_id for j in queue.claim("b", 10, 0)] == ["m2"]
    assert queue.retry(job, "boom", delay_seconds=10) is None
    queue.enqueue(["m1"])  # waiting for its retry
    assert queue.depth() == 2
    assert queue.claim("b", 10, 0) == []
    backend.advance(10)
    [again] = queue.claim("b", 10, 0)
    assert (again.message_id, again.attempt) == ("m1", 2)  # it kept its attempt counter
    assert queue.claim("b", 10, 0) == []
    queue.ack([again])
    queue.enqueue(["m1"])  # acknowledged: this is a new job
    [fresh] = queue.claim("b", 10, 0)
    assert (fresh.message_id, fresh.attempt) == ("m1", 1)


def test_a_late_ack_of_a_retried_job_leaves_the_retry(backend: Backend, queue: Queue) -> None:
    queue.enqueue(["m1"])
    [job] = queue.claim("a", 1, 0)
    queue.retry(job, "boom", delay_seconds=10)
    queue.ack([job])  # that delivery is over: the retry stands
    queue.enqueue(["m1"])
    assert queue.depth() == 1
    backend.advance(10)
    [again] = queue.claim("a", 10, 0)
    assert (again.message_id, again.attempt) == ("m1", 2)


def test_redis_marks_a_message_queued_only_while_it_has_a_job(redis_queue_name: str) -> None:
    queue = RedisStreamsQueue(REDIS_URL, redis_queue_name, LEASE, MAX_ATTEMPTS, TestClock())
    queue.enqueue(["m1", "m2"])
    assert queue.client.smembers(queue.queued) == {"m1", "m2"}
    first, second = queue.claim("a", 10, 0)
    queue.ack([first])
    assert queue.client.smembers(queue.queued) == {"m2"}  # leased
    queue.retry(second, "boom", delay_seconds=0)
    assert queue.client.smembers(queue.queued) == {"m2"}  # waiting for its retry
    while jobs := queue.claim("a", 10, 0):
        queue.retry(jobs[0], "boom", delay_seconds=0)
    assert [d.message_id for d in queue.dead_letters()] == ["m2"]
    assert queue.client.smembers(queue.queued) == set()
    queue.close()


def test_a_claim_that_fails_making_a_retry_deliverable_leaves_it_waiting(
    backend: Backend, queue: Queue
) -> None:
    queue.enqueue(["m1"])
    [job] = queue.claim("a", 1, 0)
    queue.retry(job, "boom", delay_seconds=10)
    backend.advance(10)
    # On Redis this is the step that once was ZREM, then XADD: refused between the two, the
    # message was in neither place.
    with backend.making_jobs_deliverable_fails():
        with pytest.raises((sqlite3.Error, redis.RedisError)):
            queue.claim("a", 1, 0)
        assert queue.depth() == 1
    [again] = queue.claim("a", 1, 0)
    assert (again.message_id, again.attempt) == ("m1", 2)
    assert queue.claim("a", 1, 0) == []


def test_an_enqueue_that_fails_leaves_the_message_enqueueable(
    backend: Backend, queue: Queue
) -> None:
    with backend.making_jobs_deliverable_fails():
        with pytest.raises((sqlite3.Error, redis.RedisError)):
            queue.enqueue(["m1"])
        assert queue.depth() == 0
    queue.enqueue(["m1"])  # not marked as queued by the failed attempt
    [job] = queue.claim("a", 1, 0)
    assert (job.message_id, job.attempt) == ("m1", 1)


def bury(queue: Queue, message_id: str) -> DeadLetter:
    """Enqueue a message and fail it until it is dead-lettered."""
    queue.enqueue([message_id])
    dead = None
    for _ in range(MAX_ATTEMPTS):
        [job] = queue.claim("a", 1, 0)
        dead = queue.retry(job, f"failure {job.attempt}", delay_seconds=0)
    assert dead is not None
    return dead


def test_a_dead_letter_has_an_id_the_last_error_and_when(backend: Backend, queue: Queue) -> None:
    first = bury(queue, "m1")
    assert (first.message_id, first.attempts, first.error) == ("m1", MAX_ATTEMPTS, "failure 3")
    assert first.died_at == backend.clock.now
    backend.advance(60)
    second = bury(queue, "m2")
    assert second.died_at == backend.clock.now
    assert first.id != second.id
    assert queue.dead_letters() == [first, second]
    assert queue.dead_letters(limit=1) == [first]
    assert queue.dead_letters(limit=None) == [first, second]


def test_a_replayed_dead_letter_is_delivered_again_from_its_first_attempt(queue: Queue) -> None:
    first, second = bury(queue, "m1"), bury(queue, "m2")
    unknown = ["no-such-id", "0", "12345", "999-0", "", first.id + "0"]
    assert queue.replay_dead_letters([first.id, *unknown]) == [first]
    assert queue.dead_letters() == [second]
    assert queue.depth() == 1
    [job] = queue.claim("a", 10, 0)
    assert (job.message_id, job.attempt) == ("m1", 1)
    assert queue.replay_dead_letters([first.id]) == []  # replayed already
    queue.ack([job])
    assert queue.depth() == 0
    again = bury(queue, "m1")  # a message that dies again is a new dead letter
    assert again.id not in (first.id, second.id)
    assert queue.dead_letters() == [second, again]


def test_replaying_a_message_that_has_a_job_again_adds_no_second_job(queue: Queue) -> None:
    dead = bury(queue, "m1")
    queue.enqueue(["m1"])  # dead-lettered: enqueueing it is a new job
    assert queue.replay_dead_letters([dead.id]) == [dead]
    assert queue.dead_letters() == []
    assert queue.depth() == 1
    [job] = queue.claim("a", 10, 0)
    assert (job.message_id, job.attempt) == ("m1", 1)
    assert queue.claim("a", 10, 0) == []


def test_expired_leases_are_dead_letters_that_replay(backend: Backend, queue: Queue) -> None:
    queue.enqueue(["m1"])
    for _ in range(MAX_ATTEMPTS):
        queue.claim("a", 1, 0)
        backend.advance(LEASE)
    assert queue.claim("a", 1, 0) == []
    [dead] = queue.dead_letters()
    assert (dead.message_id, dead.attempts, dead.error) == ("m1", MAX_ATTEMPTS, "lease expired")
    assert dead.died_at == backend.clock.now
    queue.enqueue(["m1"])
    queue.replay_dead_letters([dead.id])
    [job] = queue.claim("a", 10, 0)
    assert (job.message_id, job.attempt) == ("m1", 1)
    queue.ack([job])
    assert queue.depth() == 0


def test_a_queue_file_from_before_dead_letter_ids_keeps_its_dead_letters(tmp_path: Path) -> None:
    path = tmp_path / "queue.db"
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute(
            "CREATE TABLE dead_letters (message_id TEXT PRIMARY KEY, attempts INTEGER NOT NULL,"
            " error TEXT NOT NULL, died_at REAL NOT NULL)"
        )
        db.execute(
            "INSERT INTO dead_letters VALUES ('late', 5, 'boom', 20.0), ('early', 5, 'x', 10.0)"
        )
    clock = TestClock()
    queue = SqliteQueue(path, LEASE, MAX_ATTEMPTS, clock)
    assert queue.dead_letters() == [
        DeadLetter("1", "early", 5, "x", 10.0),
        DeadLetter("2", "late", 5, "boom", 20.0),
    ]
    assert bury(queue, "m1").id == "3"
    assert [d.id for d in queue.replay_dead_letters(["1"])] == ["1"]
    queue.close()
    reopened = SqliteQueue(path, LEASE, MAX_ATTEMPTS, clock)
    assert [d.message_id for d in reopened.dead_letters()] == ["late", "m1"]
    reopened.close()

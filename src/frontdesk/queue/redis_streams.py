"""Queue on Redis Streams: one consumer group, stale leases reclaimed with XAUTOCLAIM.

An entry stays in the stream (and in the group's pending list) until it is acknowledged; then it
is deleted, so the stream length is the backlog. A delayed retry waits in a sorted set and is
moved back into the stream by whichever worker claims first once it is due.

Retry due times come from `clock` (epoch seconds, `frontdesk.clock` by default). Lease expiry is
measured by the Redis server itself (XAUTOCLAIM's min-idle-time against the entry's delivery
time), so no client clock can move it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import redis

from frontdesk.clock import epoch_seconds
from frontdesk.queue.base import DeadLetter, Job

# redis-py types each reply as the union of all the shapes it can take (RESP2 or RESP3, bytes or
# decoded, with scores or without); the client here decodes responses, so these are its shapes.
Fields = dict[str, str]
Entry = tuple[str, Fields]


class RedisStreamsQueue:
    def __init__(
        self,
        url: str,
        name: str,
        lease_seconds: float,
        max_attempts: int,
        clock: Callable[[], float] = epoch_seconds,
    ) -> None:
        self.clock = clock
        self.client = redis.Redis.from_url(url, decode_responses=True, health_check_interval=30)
        self.stream = f"{name}:jobs"
        self.group = f"{name}:workers"
        self.delayed = f"{name}:jobs:delayed"
        self.dead = f"{name}:jobs:dead"
        self.lease_ms = int(lease_seconds * 1000)
        self.max_attempts = max_attempts
        self._ensure_group()

    def _ensure_group(self) -> None:
        try:
            self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def enqueue(self, message_ids: list[str]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for message_id in message_ids:
            pipe.xadd(self.stream, {"message_id": message_id, "earlier_attempts": 0})
        pipe.execute()

    def claim(self, consumer: str, max_jobs: int, wait_seconds: float) -> list[Job]:
        self._promote_due()
        jobs = self._reclaim_stale(consumer, max_jobs)
        if len(jobs) < max_jobs:
            block_ms = None if jobs else max(1, int(wait_seconds * 1000))
            answer = cast(
                list[tuple[str, list[Entry]]] | None,
                self.client.xreadgroup(
                    self.group,
                    consumer,
                    {self.stream: ">"},
                    count=max_jobs - len(jobs),
                    block=block_ms,
                ),
            )
            for _stream, entries in answer or []:
                jobs.extend(
                    Job(fields["message_id"], int(fields["earlier_attempts"]) + 1, entry_id)
                    for entry_id, fields in entries
                )
        return jobs

    def _promote_due(self) -> None:
        due = cast(
            list[str],
            self.client.zrangebyscore(self.delayed, "-inf", self.clock(), start=0, num=100),
        )
        for member in due:
            if self.client.zrem(self.delayed, member):  # only the worker that removes it moves it
                message_id, attempts = member.rsplit("|", 1)
                self.client.xadd(
                    self.stream, {"message_id": message_id, "earlier_attempts": attempts}
                )

    def _reclaim_stale(self, consumer: str, max_jobs: int) -> list[Job]:
        _next, entries, _deleted = self.client.xautoclaim(
            self.stream, self.group, consumer, self.lease_ms, start_id="0-0", count=max_jobs
        )
        jobs = []
        for entry_id, fields in entries:
            pending = self.client.xpending_range(self.stream, self.group, entry_id, entry_id, 1)
            delivered = cast(int, pending[0]["times_delivered"]) if pending else 1
            job = Job(fields["message_id"], int(fields["earlier_attempts"]) + delivered, entry_id)
            if job.attempt > self.max_attempts:
                self._bury(job, "lease expired", job.attempt - 1)
            else:
                jobs.append(job)
        return jobs

    def ack(self, jobs: list[Job]) -> None:
        if not jobs:
            return
        receipts = [job.receipt for job in jobs]
        pipe = self.client.pipeline(transaction=True)
        pipe.xack(self.stream, self.group, *receipts)
        pipe.xdel(self.stream, *receipts)
        pipe.execute()

    def retry(self, job: Job, error: str, delay_seconds: float) -> DeadLetter | None:
        if job.attempt >= self.max_attempts:
            return self._bury(job, error, job.attempt)
        pipe = self.client.pipeline(transaction=True)
        pipe.zadd(self.delayed, {f"{job.message_id}|{job.attempt}": self.clock() + delay_seconds})
        pipe.xack(self.stream, self.group, job.receipt)
        pipe.xdel(self.stream, job.receipt)
        pipe.execute()
        return None

    def _bury(self, job: Job, error: str, attempts: int) -> DeadLetter:
        pipe = self.client.pipeline(transaction=True)
        pipe.xadd(self.dead, {"message_id": job.message_id, "attempts": attempts, "error": error})
        pipe.xack(self.stream, self.group, job.receipt)
        pipe.xdel(self.stream, job.receipt)
        pipe.execute()
        return DeadLetter(job.message_id, attempts, error)

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        return [
            DeadLetter(fields["message_id"], int(fields["attempts"]), fields["error"])
            for _id, fields in cast(list[Entry], self.client.xrange(self.dead, count=limit))
        ]

    def depth(self) -> int:
        return self.client.xlen(self.stream) + self.client.zcard(self.delayed)

    def ping(self) -> None:
        self.client.ping()

    def close(self) -> None:
        self.client.close()

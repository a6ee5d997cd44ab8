"""The queue between intake and the workers: at-least-once delivery with leases.

A claimed job stays in the queue until it is acknowledged, so a worker that dies mid-job only
delays it: the lease runs out and another worker claims it again, with its attempt counter raised.
Retrying after an error is explicit (`retry`); a job that has been delivered `max_attempts` times
goes to the dead-letter list instead of being delivered again, where it stays until someone
replays it (`replay_dead_letters`, `frontdesk dead-letters replay`).

Enqueueing is idempotent per message id: while a message is queued, leased or waiting for a
retry, enqueueing it again changes nothing (it keeps its place and its attempt counter). Once it
is acknowledged or dead-lettered, enqueueing it again is a new job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Job:
    message_id: str
    attempt: int
    receipt: str  # backend handle used to ack or retry this delivery


@dataclass(frozen=True)
class DeadLetter:
    id: str  # the dead letter's own id, unique within its queue (a message can die again)
    message_id: str
    attempts: int
    error: str  # the last delivery's error, or "lease expired"
    died_at: float  # epoch seconds, from the queue's clock


class Queue(Protocol):
    def enqueue(self, message_ids: list[str]) -> int:
        """Queue these messages; one already queued, leased or delayed is left as it is.
        Returns how many were queued (those that had no job)."""
        ...

    def claim(self, consumer: str, max_jobs: int, wait_seconds: float) -> list[Job]:
        """Lease up to `max_jobs` jobs, waiting at most `wait_seconds` for the first one."""
        ...

    def ack(self, jobs: list[Job]) -> None: ...

    def retry(self, job: Job, error: str, delay_seconds: float) -> DeadLetter | None:
        """Deliver again after a delay, or dead-letter it (returned) when attempts are used up."""
        ...

    def dead_letters(self, limit: int | None = 100) -> list[DeadLetter]:
        """The dead letters, oldest first; `limit=None` for all of them."""
        ...

    def replay_dead_letters(self, ids: list[str]) -> list[DeadLetter]:
        """Queue the named dead letters' messages again as new jobs (attempts counted from zero)
        and remove them from the list, each in one step; returns those replayed. Unknown ids are
        skipped; a message that is queued again already keeps that job (enqueue is idempotent)."""
        ...

    def depth(self) -> int:
        """Jobs not yet acknowledged, leased or not."""
        ...

    def ping(self) -> None: ...

    def close(self) -> None: ...

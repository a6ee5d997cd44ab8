"""The queue between intake and the workers: at-least-once delivery with leases.

A claimed job stays in the queue until it is acknowledged, so a worker that dies mid-job only
delays it: the lease runs out and another worker claims it again, with its attempt counter raised.
Retrying after an error is explicit (`retry`); a job that has been delivered `max_attempts` times
goes to the dead-letter list instead of being delivered again.
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
    message_id: str
    attempts: int
    error: str


class Queue(Protocol):
    def enqueue(self, message_ids: list[str]) -> None: ...

    def claim(self, consumer: str, max_jobs: int, wait_seconds: float) -> list[Job]:
        """Lease up to `max_jobs` jobs, waiting at most `wait_seconds` for the first one."""
        ...

    def ack(self, jobs: list[Job]) -> None: ...

    def retry(self, job: Job, error: str, delay_seconds: float) -> DeadLetter | None:
        """Deliver again after a delay, or dead-letter it (returned) when attempts are used up."""
        ...

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]: ...

    def depth(self) -> int:
        """Jobs not yet acknowledged, leased or not."""
        ...

    def ping(self) -> None: ...

    def close(self) -> None: ...

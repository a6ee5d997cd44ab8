"""The worker loop: claim messages, run the pipeline, acknowledge, retry or dead-letter."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import structlog
from structlog.contextvars import bound_contextvars

from frontdesk.clock import utcnow
from frontdesk.queue import Queue
from frontdesk.runtime.pipeline import Pipeline
from frontdesk.store.repository import Store

log = structlog.get_logger(__name__)

SWEEP_EVERY_SECONDS = 10.0
RETENTION_EVERY_SECONDS = 3600.0
MAX_RETRY_DELAY_SECONDS = 60.0


def retry_delay(attempt: int) -> float:
    return min(MAX_RETRY_DELAY_SECONDS, 0.5 * 2 ** (attempt - 1))


class Worker:
    def __init__(
        self,
        store: Store,
        queue: Queue,
        pipeline: Pipeline,
        consumer: str,
        batch_size: int,
        idle_poll_seconds: float,
        lease_seconds: float,
        on_processed: Callable[[], None] = lambda: None,
        retention: timedelta | None = None,
    ) -> None:
        """With `retention`, conversations idle that long are erased, checked hourly."""
        self.store = store
        self.queue = queue
        self.pipeline = pipeline
        self.consumer = consumer
        self.batch_size = batch_size
        self.idle_poll_seconds = idle_poll_seconds
        self.stranded_after = timedelta(seconds=lease_seconds)
        self.on_processed = on_processed
        self.retention = retention
        self.stopping = threading.Event()
        self._last_sweep = 0.0
        self._last_retention: float | None = None  # never: the first batch checks

    def run(self) -> None:
        try:
            self.pipeline.warm_up()
        except Exception:  # a worker that could not read ahead still answers, only slower
            log.exception("worker.warm_up_failed")
        log.info("worker.started", consumer=self.consumer)
        while not self.stopping.is_set():
            try:
                self.run_once(wait_seconds=self.idle_poll_seconds)
            except Exception:  # a store or queue outage: back off, keep the worker alive
                log.exception("worker.error")
                self.stopping.wait(1.0)
        log.info("worker.stopped", consumer=self.consumer)

    def run_once(self, wait_seconds: float = 0.0) -> int:
        """Claim one batch, waiting up to `wait_seconds` for one to arrive (by default not at
        all: what is queued now), process it, acknowledge or retry each message; returns how
        many messages were claimed. The thread loop is this, waiting the idle poll each time;
        tests and benchmarks call it directly to process what is queued, in order."""
        if time.monotonic() - self._last_sweep > SWEEP_EVERY_SECONDS:
            self.requeue_stranded()
        if self.retention and self._retention_due():
            self.erase_expired()
        jobs = self.queue.claim(self.consumer, self.batch_size, wait_seconds)
        if not jobs:
            return 0
        with bound_contextvars(consumer=self.consumer):
            result = self.pipeline.process([job.message_id for job in jobs])
        if result.outcomes:
            self.on_processed()
        done = set(result.done)
        self.queue.ack([job for job in jobs if job.message_id in done])
        for job in jobs:
            error = result.failed.get(job.message_id)
            if error is None:
                continue
            conversation = result.conversations.get(job.message_id)
            with bound_contextvars(message_id=job.message_id, conversation_id=conversation):
                dead = self.queue.retry(job, error, retry_delay(job.attempt))
                if dead is not None:
                    log.error("message.dead_lettered", message_id=job.message_id, error=error)
                    self.store.mark_dead(job.message_id, error)
                    self.pipeline.recorder.dead_lettered()
        return len(jobs)

    def _retention_due(self) -> bool:
        last = self._last_retention
        return last is None or time.monotonic() - last > RETENTION_EVERY_SECONDS

    def erase_expired(self) -> None:
        """Erase the conversations idle past the retention period (store/data_rights.py)."""
        self._last_retention = time.monotonic()
        assert self.retention is not None
        expired = self.store.expired_conversations(before=utcnow() - self.retention)
        if expired:
            erased = self.store.erase(expired, None, actor="retention")
            log.info("retention.erased", conversations=erased.conversations)

    def requeue_stranded(self) -> None:
        """Enqueue the messages not processed one lease after they arrived: stored by an intake
        that died before it could enqueue them, or lost by a queue that restarted empty. A
        message the queue still holds (waiting, leased or delayed) keeps its job."""
        self._last_sweep = time.monotonic()
        stranded = self.store.stranded_messages(older_than=self.stranded_after)
        if stranded:
            added = self.queue.enqueue(stranded)
            if added:
                log.warning("intake.requeued_stranded", count=added)
            self.store.mark_enqueued(stranded)

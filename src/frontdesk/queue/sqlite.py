"""Embedded durable queue in a SQLite file (WAL), safe across threads and processes.

Leases and retry delays are stamped from `clock` (epoch seconds, `frontdesk.clock` by default),
so tests move time forward instead of sleeping; waiting for a job to arrive is real waiting and
uses the monotonic clock.

A message has at most one row in `jobs` (its id is the key), which is what makes enqueueing
idempotent; each dead letter has a number of its own (`dead_letters.id`, never reused), the id
`frontdesk dead-letters` shows and replays.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from frontdesk.clock import epoch_seconds
from frontdesk.queue.base import DeadLetter, Job

DEAD_LETTERS = """
    CREATE TABLE IF NOT EXISTS dead_letters (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id TEXT NOT NULL UNIQUE,
        attempts INTEGER NOT NULL,
        error TEXT NOT NULL,
        died_at REAL NOT NULL
    )
"""
SCHEMA = [
    """
    CREATE TABLE IF NOT EXISTS jobs (
        message_id TEXT PRIMARY KEY,
        attempts INTEGER NOT NULL DEFAULT 0,
        available_at REAL NOT NULL,
        lease_token TEXT,
        lease_expires_at REAL,
        last_error TEXT
    )
    """,
    "CREATE INDEX IF NOT EXISTS jobs_available ON jobs (available_at)",
    DEAD_LETTERS,
]
DEAD_LETTER_COLUMNS = "id, message_id, attempts, error, died_at"


class SqliteQueue:
    def __init__(
        self,
        path: Path,
        lease_seconds: float,
        max_attempts: int,
        clock: Callable[[], float] = epoch_seconds,
    ) -> None:
        self.path = path
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self._local = threading.local()
        self._wakeup = threading.Condition()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._transaction() as db:
            for statement in SCHEMA:
                db.execute(statement)
            _number_dead_letters(db)

    @property
    def _db(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            self._local.connection = connection
        return connection

    def enqueue(self, message_ids: list[str]) -> int:
        now = self.clock()
        with self._transaction() as db:
            # A message already queued keeps its place and counter: enqueueing is idempotent.
            added = db.executemany(
                "INSERT OR IGNORE INTO jobs (message_id, available_at) VALUES (?, ?)",
                [(message_id, now) for message_id in message_ids],
            ).rowcount
        with self._wakeup:
            self._wakeup.notify_all()
        return max(added, 0)

    def claim(self, consumer: str, max_jobs: int, wait_seconds: float) -> list[Job]:
        deadline = time.monotonic() + wait_seconds
        while True:
            jobs = self._claim_now(max_jobs)
            remaining = deadline - time.monotonic()
            if jobs or remaining <= 0:
                return jobs
            with self._wakeup:
                self._wakeup.wait(timeout=min(remaining, 0.5))

    def _claim_now(self, max_jobs: int) -> list[Job]:
        now = self.clock()
        token = uuid.uuid4().hex
        with self._transaction() as db:
            self._bury_exhausted(db, now)
            rows = db.execute(
                """
                UPDATE jobs SET attempts = attempts + 1, lease_token = ?, lease_expires_at = ?
                WHERE message_id IN (
                    SELECT message_id FROM jobs
                    WHERE available_at <= ? AND (lease_expires_at IS NULL OR lease_expires_at <= ?)
                    ORDER BY available_at LIMIT ?
                )
                RETURNING message_id, attempts
                """,
                (token, now + self.lease_seconds, now, now, max_jobs),
            ).fetchall()
        return [Job(message_id, attempts, token) for message_id, attempts in rows]

    def _bury_exhausted(self, db: sqlite3.Connection, now: float) -> None:
        """Jobs whose lease ran out after their last allowed delivery go to the dead letters."""
        exhausted = """
            FROM jobs WHERE attempts >= ? AND lease_expires_at IS NOT NULL AND lease_expires_at <= ?
        """
        db.execute(
            "INSERT OR REPLACE INTO dead_letters (message_id, attempts, error, died_at)"
            f" SELECT message_id, attempts, COALESCE(last_error, 'lease expired'), ? {exhausted}",
            (now, self.max_attempts, now),
        )
        db.execute(f"DELETE {exhausted}", (self.max_attempts, now))

    def ack(self, jobs: list[Job]) -> None:
        with self._transaction() as db:
            db.executemany(
                "DELETE FROM jobs WHERE message_id = ? AND lease_token = ?",
                [(job.message_id, job.receipt) for job in jobs],
            )

    def retry(self, job: Job, error: str, delay_seconds: float) -> DeadLetter | None:
        with self._transaction() as db:
            if job.attempt >= self.max_attempts:
                row = db.execute(
                    "INSERT OR REPLACE INTO dead_letters (message_id, attempts, error, died_at)"
                    f" VALUES (?, ?, ?, ?) RETURNING {DEAD_LETTER_COLUMNS}",
                    (job.message_id, job.attempt, error, self.clock()),
                ).fetchone()
                db.execute("DELETE FROM jobs WHERE message_id = ?", (job.message_id,))
                return _dead_letter(row)
            db.execute(
                "UPDATE jobs SET available_at = ?, lease_token = NULL, lease_expires_at = NULL,"
                " last_error = ? WHERE message_id = ? AND lease_token = ?",
                (self.clock() + delay_seconds, error, job.message_id, job.receipt),
            )
            return None

    def dead_letters(self, limit: int | None = 100) -> list[DeadLetter]:
        rows = self._db.execute(
            f"SELECT {DEAD_LETTER_COLUMNS} FROM dead_letters ORDER BY id LIMIT ?",
            (-1 if limit is None else limit,),
        ).fetchall()
        return [_dead_letter(row) for row in rows]

    def replay_dead_letters(self, ids: list[str]) -> list[DeadLetter]:
        # A dead letter's id is its row number; anything else names no dead letter.
        numbers = [int(i) for i in ids if re.fullmatch(r"[1-9][0-9]{0,17}", i)]
        now = self.clock()
        replayed = []
        with self._transaction() as db:
            for number in numbers:
                row = db.execute(
                    f"DELETE FROM dead_letters WHERE id = ? RETURNING {DEAD_LETTER_COLUMNS}",
                    (number,),
                ).fetchone()
                if row is None:
                    continue
                db.execute(
                    "INSERT OR IGNORE INTO jobs (message_id, available_at) VALUES (?, ?)",
                    (row[1], now),
                )
                replayed.append(_dead_letter(row))
        if replayed:
            with self._wakeup:
                self._wakeup.notify_all()
        return replayed

    def depth(self) -> int:
        count: int = self._db.execute("SELECT count(*) FROM jobs").fetchone()[0]
        return count

    def ping(self) -> None:
        self._db.execute("SELECT 1").fetchone()

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def _transaction(self) -> _Immediate:
        return _Immediate(self._db)


def _dead_letter(row: tuple[int, str, int, str, float]) -> DeadLetter:
    number, message_id, attempts, error, died_at = row
    return DeadLetter(str(number), message_id, attempts, error, died_at)


def _number_dead_letters(db: sqlite3.Connection) -> None:
    """A queue file from before dead letters had ids keeps its dead letters, numbered in the
    order they died."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(dead_letters)")}
    if not columns or "id" in columns:
        return
    db.execute("ALTER TABLE dead_letters RENAME TO dead_letters_unnumbered")
    db.execute(DEAD_LETTERS)
    db.execute(
        "INSERT INTO dead_letters (message_id, attempts, error, died_at)"
        " SELECT message_id, attempts, error, died_at FROM dead_letters_unnumbered"
        " ORDER BY died_at"
    )
    db.execute("DROP TABLE dead_letters_unnumbered")


class _Immediate:
    """BEGIN IMMEDIATE … COMMIT, so concurrent claimers queue on the write lock, never both win."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")

"""SIGKILL the service while it works through 1,000 accepted messages; after a restart every
message is processed and none is answered twice.

The kill is placed by what the service has done, not by the clock: all messages are accepted
first by a service without a worker; then a service with its worker is frozen (SIGSTOP) at a
moment when it has processed some messages and holds a claimed, unacknowledged batch, checked
in the store and the queue while it stands still, and killed there."""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import Engine, create_engine, func, select

from conftest import REDIS_URL
from frontdesk.store.database import create_store_engine
from frontdesk.store.repository import Store
from frontdesk.store.tables import AuditRow, DecisionRow, HandoffRow, MessageRow, ReplyRow
from server import ServerProcess

MESSAGES = 1000
TEXTS = [
    "where is my order?",
    "I want to return a lamp",
    "can I pay with paypal",
    "talk to a human please",
    "what's the weather like",
    "my parcel arrived damaged",
    "how do I reset my password",
    "hello there",
]


def post_all(url: str) -> list[str]:
    with httpx.Client(base_url=url, timeout=30) as client:

        def post(i: int) -> str:
            response = client.post(
                "/v1/messages",
                json={"text": f"{TEXTS[i % len(TEXTS)]} ({i})"},
                headers={"Idempotency-Key": f"crash-{i}"},
            )
            assert response.status_code == 202, response.text
            return response.json()["message_id"]

        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(post, range(MESSAGES)))


def processed(reader: Engine) -> int:
    """Read without taking the write lock, as the store's own sessions do (BEGIN IMMEDIATE): a
    service frozen inside a write transaction would make that wait, and fail the look."""
    with reader.connect() as connection:
        return int(
            connection.scalar(
                select(func.count()).select_from(MessageRow).where(MessageRow.state == "processed")
            )
            or 0
        )


def wait_until(condition: Callable[[], bool], what: str, bound: float = 300) -> None:
    """Poll `condition` until it holds; the bound only keeps a broken service from hanging."""
    deadline = time.monotonic() + bound
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {bound} s")
        time.sleep(0.05)


def freeze_mid_batch(server: ServerProcess, reader: Engine, in_flight: Callable[[], int]) -> int:
    """Freeze the service once it has processed messages and holds a claimed batch; returns how
    many were processed at that point."""
    frozen: list[int] = []

    def caught() -> bool:
        if processed(reader) == 0 or in_flight() == 0:
            return False
        server.pause()
        done = processed(reader)
        if in_flight() > 0 and 0 < done < MESSAGES:
            frozen.append(done)
            return True
        server.resume()  # it acknowledged or finished between the looks
        return False

    wait_until(caught, "the worker caught holding a claimed batch")
    return frozen[0]


def run_crash_and_recover(
    env: dict[str, str], store_url: str, log_path: Path, in_flight: Callable[[], int]
) -> None:
    # Small batches, so a batch in flight is a small part of the work; a short lease, so the
    # restarted worker reclaims the killed one's batch soon.
    env = {**env, "FRONTDESK_QUEUE__LEASE_SECONDS": "2", "FRONTDESK_WORKER__BATCH_SIZE": "4"}
    store = Store(create_store_engine(store_url))
    reader = create_engine(store_url)
    server = ServerProcess(env, log_path, command=("serve", "--no-worker"))
    server.start()
    try:
        accepted = post_all(server.url)
        assert len(set(accepted)) == MESSAGES
        assert processed(reader) == 0
        server.stop()

        server = ServerProcess(env, log_path)
        server.start()
        done_at_kill = freeze_mid_batch(server, reader, in_flight)
        server.kill()
        assert processed(reader) == done_at_kill  # nothing after the freeze

        server = ServerProcess(env, log_path)
        server.start()
        wait_until(lambda: processed(reader) == MESSAGES, "every message processed")
        assert store.count_messages() == {"processed": MESSAGES}

        with store.session() as session:
            decided = Counter(session.scalars(select(DecisionRow.message_id)))
            replied = Counter(session.scalars(select(ReplyRow.message_id)))
            handed = Counter(session.scalars(select(HandoffRow.message_id)))
            answers = Counter(
                session.scalars(
                    select(AuditRow.data["message_id"].as_string()).where(
                        AuditRow.action == "reply.sent"
                    )
                )
            )
        assert set(decided) == set(accepted) and max(decided.values()) == 1
        assert set(replied) | set(handed) == set(accepted)
        assert not set(replied) & set(handed)
        assert max(replied.values()) == 1 and max(handed.values()) == 1
        assert set(answers) == set(replied) and max(answers.values()) == 1
    finally:
        server.stop()
        store.engine.dispose()
        reader.dispose()


@pytest.mark.slow
def test_sigkill_with_the_embedded_sqlite_queue(data_dir: Path, tmp_path: Path) -> None:
    def leased() -> int:
        queue = data_dir / "queue.db"
        if not queue.exists():
            return 0
        with closing(sqlite3.connect(queue)) as db:
            [(count,)] = db.execute("SELECT count(*) FROM jobs WHERE lease_token IS NOT NULL")
        return count

    run_crash_and_recover(
        {"FRONTDESK_DATA_DIR": str(data_dir)},
        f"sqlite:///{data_dir / 'frontdesk.db'}",
        tmp_path / "server.log",
        leased,
    )


@pytest.mark.slow
def test_sigkill_with_redis_streams_and_postgresql(
    data_dir: Path, tmp_path: Path, postgres_url: str, redis_queue_name: str
) -> None:
    client = redis.Redis.from_url(REDIS_URL)

    stream, group = f"{redis_queue_name}:jobs", f"{redis_queue_name}:workers"

    def pending() -> int:
        try:
            return client.xpending(stream, group)["pending"]
        except redis.ResponseError:  # no stream or group yet
            return 0

    with closing(client):
        run_crash_and_recover(
            {
                "FRONTDESK_DATA_DIR": str(data_dir),
                "FRONTDESK_STORE__URL": postgres_url,
                "FRONTDESK_QUEUE__BACKEND": "redis",
                "FRONTDESK_QUEUE__REDIS_URL": REDIS_URL,
                "FRONTDESK_QUEUE__NAME": redis_queue_name,
            },
            postgres_url,
            tmp_path / "server.log",
            pending,
        )

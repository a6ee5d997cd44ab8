"""SIGKILL the service while it works through 1,000 accepted messages; after a restart every
message is processed and none is answered twice."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from conftest import REDIS_URL
from frontdesk.store.database import create_store_engine
from frontdesk.store.repository import Store
from frontdesk.store.tables import AuditRow, DecisionRow, HandoffRow, ReplyRow
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


def processed(store: Store) -> int:
    return store.count_messages().get("processed", 0)


def run_crash_and_recover(env: dict[str, str], store_url: str, log_path: Path) -> None:
    # Small batches keep the worker busy long enough to be caught in the middle.
    env = {**env, "FRONTDESK_QUEUE__LEASE_SECONDS": "2", "FRONTDESK_WORKER__BATCH_SIZE": "4"}
    server = ServerProcess(env, log_path)
    server.start()
    store = Store(create_store_engine(store_url))
    try:
        accepted = post_all(server.url)
        assert len(set(accepted)) == MESSAGES
        done_at_kill = processed(store)
        server.kill()
        assert 0 < done_at_kill < MESSAGES, f"{done_at_kill} processed: not killed mid-way"

        server = ServerProcess(env, log_path)
        server.start()
        deadline = time.monotonic() + 120
        while processed(store) < MESSAGES and time.monotonic() < deadline:
            time.sleep(0.25)
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


@pytest.mark.slow
def test_sigkill_with_the_embedded_sqlite_queue(data_dir: Path, tmp_path: Path) -> None:
    run_crash_and_recover(
        {"FRONTDESK_DATA_DIR": str(data_dir)},
        f"sqlite:///{data_dir / 'frontdesk.db'}",
        tmp_path / "server.log",
    )


@pytest.mark.slow
def test_sigkill_with_redis_streams_and_postgresql(
    data_dir: Path, tmp_path: Path, postgres_url: str, redis_queue_name: str
) -> None:
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
    )

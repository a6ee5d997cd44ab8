"""Idempotency keys are the client's, so they are scoped to where the client is: a key reused by
someone else never hands them another customer's conversation (issue 19, finding 1)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from frontdesk.config import load_settings
from frontdesk.server import create_app
from test_api import process_queued, stored_messages

README_KEY = {"Idempotency-Key": "7f1c"}  # the example key everyone copies


@pytest.fixture
def app(data_dir: Path) -> Iterator[TestClient]:
    """Nobody signed in: every request is a customer's (or an attacker's)."""
    settings = load_settings(data_dir=data_dir, worker={"enabled": False})  # process_queued
    with TestClient(create_app(settings)) as client:
        yield client


def post(client: TestClient, text: str, headers: dict[str, str], conversation: dict | None = None):
    body: dict[str, str] = {"text": text}
    if conversation is not None:
        body["conversation_id"] = conversation["conversation_id"]
        headers = {**headers, "X-Conversation-Token": conversation["conversation_token"]}
    return client.post("/v1/messages", json=body, headers=headers)


def test_same_key_and_text_from_someone_else_gets_no_token(app: TestClient) -> None:
    victim = post(app, "where is my order? my email is ana@example.com", README_KEY).json()
    process_queued(app)
    attack = post(app, "where is my order? my email is ana@example.com", README_KEY)
    assert attack.status_code == 409
    assert "new Idempotency-Key" in attack.json()["detail"]
    for secret in (victim["conversation_id"], victim["conversation_token"], victim["message_id"]):
        assert secret not in attack.text
    assert "Idempotent-Replayed" not in attack.headers
    # Without the token the conversation stays closed to them.
    url = f"/v1/conversations/{victim['conversation_id']}"
    assert app.get(url).status_code == 403
    assert stored_messages(app) == 1


def test_two_customers_with_the_example_key_each_get_their_own_conversation(
    app: TestClient,
) -> None:
    ana = post(app, "where is my order?", README_KEY)
    ben = post(app, "how do returns work?", README_KEY)
    assert ana.status_code == ben.status_code == 202
    assert ana.json()["status"] == ben.json()["status"] == "accepted"
    assert ana.json()["conversation_id"] != ben.json()["conversation_id"]
    assert ana.json()["conversation_token"] != ben.json()["conversation_token"]
    assert process_queued(app) == 2


def test_a_retry_in_ones_own_conversation_is_deduplicated(app: TestClient) -> None:
    started = post(app, "hi", {"Idempotency-Key": "first"}).json()
    key = {"Idempotency-Key": "second"}
    first = post(app, "where is my order?", key, started)
    retry = post(app, "where is my order?", key, started)
    assert first.status_code == retry.status_code == 202
    assert retry.json()["status"] == "duplicate"
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["message_id"] == first.json()["message_id"]
    assert retry.json()["conversation_token"] == started["conversation_token"]  # held already
    assert process_queued(app) == 2  # hi, and the question once
    other_text = post(app, "something else", key, started)
    assert other_text.status_code == 409
    assert "different message" in other_text.json()["detail"]


def test_the_same_key_in_two_conversations_is_two_messages(app: TestClient) -> None:
    ana = post(app, "hi, I am Ana", {}).json()
    ben = post(app, "hi, I am Ben", {}).json()
    for_ana = post(app, "yes", README_KEY, ana)
    for_ben = post(app, "yes", README_KEY, ben)
    assert for_ana.json()["status"] == for_ben.json()["status"] == "accepted"
    assert for_ana.json()["conversation_id"] == ana["conversation_id"]
    assert for_ben.json()["conversation_id"] == ben["conversation_id"]
    assert for_ana.json()["message_id"] != for_ben.json()["message_id"]


def test_a_key_cannot_reach_into_a_conversation_without_its_token(app: TestClient) -> None:
    ana = post(app, "hi, I am Ana", {}).json()
    post(app, "my email is ana@example.com", README_KEY, ana)
    guessed = app.post(
        "/v1/messages",
        json={"text": "my email is ana@example.com", "conversation_id": ana["conversation_id"]},
        headers=README_KEY,
    )
    assert guessed.status_code == 403
    assert ana["conversation_token"] not in guessed.text


def test_a_lost_first_answer_is_recovered_by_sending_again_with_a_fresh_key(
    app: TestClient,
) -> None:
    """The documented recovery for the one case no key can settle: the first message of a
    conversation was stored but its answer (with the token) never reached the client."""
    post(app, "do you ship to Norway?", {"Idempotency-Key": "lost-answer"})
    retry = post(app, "do you ship to Norway?", {"Idempotency-Key": "lost-answer"})
    assert retry.status_code == 409
    fresh = post(app, "do you ship to Norway?", {"Idempotency-Key": "fresh"})
    assert fresh.status_code == 202
    token = {"X-Conversation-Token": fresh.json()["conversation_token"]}
    view = app.get(f"/v1/conversations/{fresh.json()['conversation_id']}", headers=token)
    assert [m["text"] for m in view.json()["messages"]] == ["do you ship to Norway?"]

"""The HTTP API, through FastAPI's test client (the full app).

Most tests run the app without its worker thread and process the queue themselves with
`Worker.run_once`, so each step happens when the test says; `served` runs the in-process worker
as `frontdesk serve` does.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from conftest import WatchedCondition, sign_in
from frontdesk.config import load_settings
from frontdesk.server import create_app
from frontdesk.store.tables import MessageRow


def app_client(data_dir: Path, worker: bool, staff: bool = True) -> Iterator[TestClient]:
    settings = load_settings(
        data_dir=data_dir, server={"max_message_chars": 200}, worker={"enabled": worker}
    )
    with TestClient(create_app(settings)) as test_client:
        if staff:
            sign_in(test_client)
        yield test_client


@pytest.fixture
def client(data_dir: Path) -> Iterator[TestClient]:
    """The app without its worker thread, a staff member signed in: messages wait in the queue
    until `process_queued`."""
    yield from app_client(data_dir, worker=False)


@pytest.fixture
def customer(data_dir: Path) -> Iterator[TestClient]:
    """The app without its worker thread, as a customer reaches it: nobody signed in."""
    yield from app_client(data_dir, worker=False, staff=False)


@pytest.fixture
def served(data_dir: Path) -> Iterator[TestClient]:
    """The app with its in-process worker thread running, as `frontdesk serve` starts it."""
    yield from app_client(data_dir, worker=True)


def stored_messages(client: TestClient) -> int:
    with client.app.state.services.store.session() as session:
        return session.scalar(select(func.count()).select_from(MessageRow))


def process_queued(client: TestClient) -> int:
    """Run the app's worker over everything queued, as its thread would; returns how many
    messages it claimed."""
    worker = client.app.state.services.worker("test")
    claimed = 0
    while batch := worker.run_once():
        claimed += batch
    return claimed


def conversation(client: TestClient, conversation_id: str) -> dict:
    return client.get(f"/v1/conversations/{conversation_id}").json()


def test_message_is_accepted_then_decided(client: TestClient) -> None:
    response = client.post("/v1/messages", json={"text": "where is my order?"})
    assert response.status_code == 202
    accepted = response.json()
    assert accepted["status"] == "accepted"
    assert conversation(client, accepted["conversation_id"])["decisions"] == []
    assert process_queued(client) == 1
    view = conversation(client, accepted["conversation_id"])
    [decision] = view["decisions"]
    assert decision["message_id"] == accepted["message_id"]
    assert decision["intent"]["label"] == "track_order"
    assert 0 <= decision["intent"]["confidence"] <= 1
    assert decision["decision"]["tier"] in {"auto", "human", "specialist"}
    assert decision["decision"]["rules"]
    assert len(view["replies"]) + len(view["handoffs"]) == 1


def test_same_idempotency_key_is_stored_and_answered_once(client: TestClient) -> None:
    started = client.post("/v1/messages", json={"text": "hi"}).json()
    conversation_id = started["conversation_id"]
    url = f"/v1/conversations/{conversation_id}/messages"
    headers = {
        "Idempotency-Key": "order-question-1",
        "X-Conversation-Token": started["conversation_token"],
    }
    first = client.post(url, json={"text": "how do returns work?"}, headers=headers)
    second = client.post(url, json={"text": "how do returns work?"}, headers=headers)
    assert first.status_code == second.status_code == 202
    assert second.json()["message_id"] == first.json()["message_id"]
    assert second.json()["status"] == "duplicate"
    assert second.headers["Idempotent-Replayed"] == "true"
    assert process_queued(client) == 2  # hi, and the question: the replay was not queued again
    view = conversation(client, conversation_id)
    assert len(view["messages"]) == 2
    assert len(view["decisions"]) == 2
    assert len(view["replies"]) + len(view["handoffs"]) == 2


def test_a_new_conversation_is_never_handed_out_twice(customer: TestClient) -> None:
    """Whoever sends a first message's key and text again gets no token (see
    test_security_idempotency)."""
    headers = {"Idempotency-Key": "order-question-1"}
    first = customer.post("/v1/messages", json={"text": "how do returns work?"}, headers=headers)
    second = customer.post("/v1/messages", json={"text": "how do returns work?"}, headers=headers)
    assert first.status_code == 202
    assert second.status_code == 409
    assert first.json()["conversation_token"] not in second.text
    assert stored_messages(customer) == 1


def test_key_reused_for_another_text_is_a_conflict(customer: TestClient) -> None:
    started = customer.post("/v1/messages", json={"text": "hi"}).json()
    url = f"/v1/conversations/{started['conversation_id']}/messages"
    headers = {"Idempotency-Key": "k", "X-Conversation-Token": started["conversation_token"]}
    customer.post(url, json={"text": "first"}, headers=headers)
    response = customer.post(url, json={"text": "second"}, headers=headers)
    assert response.status_code == 409
    assert "Idempotency-Key" in response.json()["detail"]


def test_follow_up_message_joins_the_conversation(client: TestClient) -> None:
    first = client.post("/v1/messages", json={"text": "hi"}).json()
    conversation_id = first["conversation_id"]
    response = client.post(
        f"/v1/conversations/{conversation_id}/messages",
        json={"text": "thanks"},
        headers={"X-Conversation-Token": first["conversation_token"]},
    )
    assert response.status_code == 202
    assert response.json()["conversation_id"] == conversation_id
    assert process_queued(client) == 2
    view = conversation(client, conversation_id)
    assert [m["text"] for m in view["messages"]] == ["hi", "thanks"]
    assert len(view["decisions"]) == 2


@pytest.mark.parametrize(
    ("kwargs", "status", "reason"),
    [
        ({"json": {"text": ""}}, 422, "text is empty"),
        ({"json": {"text": "   \n "}}, 422, "text is empty"),
        ({"json": {"text": "x" * 201}}, 422, "the limit is 200"),
        ({"json": {}}, 422, "Field required"),
        ({"json": {"text": "hi", "colour": "red"}}, 422, "Extra inputs"),
        ({"json": {"text": 5}}, 422, "valid string"),
        (
            {"content": b'{"text": "hi"', "headers": {"Content-Type": "application/json"}},
            400,
            "not valid JSON",
        ),
        (
            {
                "content": b"text=hi",
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            },
            415,
            "application/json",
        ),
        ({"content": b'{"text": "hi"}', "headers": {"Content-Type": "text/plain"}}, 415, "json"),
        ({"json": {"text": "hi", "conversation_id": "0" * 32}}, 404, "unknown conversation"),
        ({"json": {"text": "hi", "conversation_id": "not-an-id"}}, 422, "pattern"),
        ({"json": {"text": "hi"}, "headers": {"Idempotency-Key": "k" * 201}}, 422, "200"),
    ],
)
def test_bad_input_gets_a_reason_and_stores_nothing(
    customer: TestClient, kwargs: dict, status: int, reason: str
) -> None:
    response = customer.post("/v1/messages", **kwargs)
    assert response.status_code == status
    assert reason.lower() in str(response.json()["detail"]).lower()
    assert stored_messages(customer) == 0


def test_unknown_conversation_reads_404(client: TestClient) -> None:
    assert client.get(f"/v1/conversations/{'a' * 32}").status_code == 404
    assert client.get("/v1/conversations/nope").status_code == 422
    response = client.post(f"/v1/conversations/{'a' * 32}/messages", json={"text": "hi"})
    assert response.status_code == 404
    assert stored_messages(client) == 0


def test_person_answers_a_handoff(client: TestClient) -> None:
    accepted = client.post("/v1/messages", json={"text": "let me speak to a human agent"}).json()
    assert process_queued(client) == 1
    handoffs = client.get("/v1/handoffs", params={"tier": "human"}).json()
    [handoff] = [h for h in handoffs if h["message_id"] == accepted["message_id"]]
    assert handoff["packet"]["intent"]["label"] == "contact_human"
    assert handoff["packet"]["decision"]["rules"]
    reply = client.post(f"/v1/handoffs/{handoff['id']}/reply", json={"text": "Hello, Alice here"})
    assert reply.status_code == 201
    assert reply.json()["author"] == "agent:alice"
    again = client.post(f"/v1/handoffs/{handoff['id']}/reply", json={"text": "Hello"})
    assert again.status_code == 409
    assert client.post(f"/v1/handoffs/{'b' * 32}/reply", json={"text": "Hello"}).status_code == 404
    assert (
        client.get("/v1/handoffs", params={"status": "resolved"}).json()[0]["id"] == handoff["id"]
    )
    view = conversation(client, accepted["conversation_id"])
    assert view["replies"][0]["text"] == "Hello, Alice here"


def test_health_readiness_and_docs(served: TestClient) -> None:
    assert served.get("/healthz").json() == {"status": "ok"}
    ready = served.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"store": "ok", "queue": "ok", "worker": "ok"}
    assert served.get("/docs").status_code == 200
    assert "/v1/messages" in served.get("/openapi.json").json()["paths"]


def test_without_the_worker_readiness_does_not_ask_for_it(client: TestClient) -> None:
    assert client.get("/readyz").json()["checks"] == {"store": "ok", "queue": "ok"}


def test_chat_page_is_served(customer: TestClient) -> None:
    page = customer.get("/")
    assert page.status_code == 200
    assert "Harbor Goods customer service" in page.text


def test_long_poll_answers_when_the_message_is_decided(client: TestClient) -> None:
    accepted = client.post("/v1/messages", json={"text": "do you ship to canada?"}).json()
    services = client.app.state.services
    # The route waits on this condition; watching it lets the test decide the message exactly
    # while the request waits, so the answer must come from the wake-up, not the first read.
    services.processed = WatchedCondition()
    url = f"/v1/conversations/{accepted['conversation_id']}"
    answered: list[dict] = []
    request = threading.Thread(
        target=lambda: answered.append(
            client.get(url, params={"decided": accepted["message_id"], "wait": 30}).json()
        )
    )
    request.start()
    assert services.processed.waiting.wait(timeout=30), "the long poll never waited"
    assert process_queued(client) == 1
    request.join(timeout=30)
    [view] = answered
    assert [d["message_id"] for d in view["decisions"]] == [accepted["message_id"]]
    missing = client.get(url, params={"decided": "c" * 32, "wait": 1})
    assert missing.status_code == 404
    too_long = client.get(url, params={"wait": 99})
    assert too_long.status_code == 422


def test_the_in_process_worker_decides_what_is_posted(served: TestClient) -> None:
    accepted = served.post("/v1/messages", json={"text": "where is my order?"}).json()
    view = served.get(
        f"/v1/conversations/{accepted['conversation_id']}",
        params={"decided": accepted["message_id"], "wait": 30},
    ).json()
    [decision] = view["decisions"]
    assert decision["message_id"] == accepted["message_id"]
    assert len(view["replies"]) + len(view["handoffs"]) == 1

"""The customer's view of a conversation carries what was said, by the bot or by "the support
team", with the articles an answer rests on: no tool results, no handoff packet, no staff names.
Staff read it whole only when they may work every tier it went to (issue 19, finding 2)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import sign_in
from frontdesk.config import load_settings
from frontdesk.server import create_app
from realtime_chat import find
from test_api import process_queued

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
CUSTOMER_KEYS = {"id", "status", "created_at", "messages", "replies", "handoffs"}
# Every field name anywhere in the customer's view: the conversation, its messages, replies,
# their sources, and the handoffs (which message a person answers, and whether they have).
ALLOWED_KEYS = CUSTOMER_KEYS | {
    "text", "received_at", "in_reply_to", "author", "sources", "title", "heading", "link",
    "message_id",
}  # fmt: skip


def keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value).union(*(keys(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(keys(item) for item in value))
    return set()


@pytest.fixture
def app(data_dir: Path) -> Iterator[TestClient]:
    settings = load_settings(data_dir=data_dir, worker={"enabled": False})  # process_queued
    with TestClient(create_app(settings)) as client:
        yield client


def say(client: TestClient, text: str, conversation: dict | None = None) -> dict:
    body, headers = {"text": text}, {}
    if conversation is not None:
        body["conversation_id"] = conversation["conversation_id"]
        headers["X-Conversation-Token"] = conversation["conversation_token"]
    response = client.post("/v1/messages", json=body, headers=headers)
    assert response.status_code == 202, response.text
    process_queued(client)
    return response.json()


def as_customer(client: TestClient, started: dict, path: str = "") -> dict:
    token = {"X-Conversation-Token": started["conversation_token"]}
    response = client.get(f"/v1/conversations/{started['conversation_id']}{path}", headers=token)
    assert response.status_code == 200, response.text
    return response.json()


def first_event(client: TestClient, started: dict) -> dict:
    url = f"/v1/conversations/{started['conversation_id']}/events"
    token = {"X-Conversation-Token": started["conversation_token"]}
    with client.stream("GET", url, headers=token) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                return json.loads(line.removeprefix("data: "))
    raise AssertionError("no event")


def test_a_whole_chat_shows_the_customer_nothing_of_the_tools_or_the_staff(
    app: TestClient,
) -> None:
    customer, order = find("processed")
    started = say(app, "where is my order?")
    say(app, f"my email is {customer.email}", started)
    say(app, f"it's {order.order_id}", started)
    say(app, "how do returns work?", started)
    asked = say(app, "I want to talk to a real person please", started)

    sign_in(app, "alice", role="agent")
    handoffs = app.get("/v1/handoffs").json()
    [handoff] = [h for h in handoffs if h["message_id"] == asked["message_id"]]
    staff_view = app.get(f"/v1/conversations/{started['conversation_id']}").json()
    assert staff_view["decisions"]  # staff read it whole
    tool_output = json.dumps(
        [result["output"] for d in staff_view["decisions"] for result in d["tool_results"]]
    )
    assert customer.address.zip in tool_output  # so its absence below means something
    assert app.post(f"/v1/handoffs/{handoff['id']}/claim", json={}).status_code == 200
    answered = app.post(
        f"/v1/handoffs/{handoff['id']}/reply", json={"text": "Hello, happy to help with that."}
    )
    assert answered.status_code == 201
    assert app.post("/v1/auth/logout", json={}).status_code == 204

    for view in (as_customer(app, started), first_event(app, started)):
        assert set(view) == CUSTOMER_KEYS
        assert keys(view) <= ALLOWED_KEYS
        text = json.dumps(view)
        for private in (
            customer.address.address1,
            customer.address.zip,
            customer.user_id,
            *customer.payment_methods,
            "alice",
        ):
            assert private not in text, private
        assert set(EMAIL.findall(text)) == {customer.email}  # what the customer wrote
        authors = [reply["author"] for reply in view["replies"]]
        assert authors[-1] == "agent:support"
        assert set(authors[:-1]) == {"bot"}
        assert [h["message_id"] for h in view["handoffs"]] == [asked["message_id"]]
        assert view["handoffs"][0]["status"] == "resolved"
        assert set(view["messages"][0]) == {"id", "text", "received_at"}

    sources = [s for reply in as_customer(app, started)["replies"] for s in reply["sources"]]
    assert sources, "the returns answer cites its article"
    for source in sources:
        assert set(source) == {"title", "heading", "link"}
        assert source["link"] is None  # the demo articles were not ingested from a web address


def test_the_long_poll_answers_with_the_customer_view(app: TestClient) -> None:
    started = say(app, "how do returns work?")
    view = as_customer(app, started, f"?decided={started['message_id']}&wait=5")
    assert keys(view) <= ALLOWED_KEYS
    answered = [r["in_reply_to"] for r in view["replies"]]
    handed = [h["message_id"] for h in view["handoffs"]]
    assert answered + handed == [started["message_id"]]


def test_an_agent_cannot_read_a_specialist_conversation(app: TestClient) -> None:
    specialist = say(app, "I will ask my lawyer to sue you over this order")
    human = say(app, "I want to talk to a real person please")
    url = f"/v1/conversations/{specialist['conversation_id']}"
    sign_in(app, "alice", role="agent")
    tiers = {h["conversation_id"]: h["tier"] for h in app.get("/v1/handoffs").json()}
    assert tiers == {human["conversation_id"]: "human"}  # the inbox hides it from her too
    refused = app.get(url)
    assert refused.status_code == 403
    assert "lawyer" not in refused.text
    assert app.get(f"{url}/events").status_code == 403
    assert app.get(f"{url}?decided={specialist['message_id']}&wait=1").status_code == 403
    assert "decisions" in app.get(f"/v1/conversations/{human['conversation_id']}").json()

    sign_in(app, "sam", role="specialist")
    whole = app.get(url).json()
    assert whole["handoffs"][0]["tier"] == "specialist"
    assert whole["handoffs"][0]["packet"]["decision"]["rules"]


def test_staff_with_the_customers_token_but_not_the_tier_get_the_customer_view(
    app: TestClient,
) -> None:
    """An agent who tries the chat page in the browser she is signed in with."""
    specialist = say(app, "I will ask my lawyer to sue you over this order")
    sign_in(app, "alice", role="agent")
    assert set(as_customer(app, specialist)) == CUSTOMER_KEYS

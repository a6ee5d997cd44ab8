"""Issue 18, point 3: customer satisfaction. A one-click rating in the chat once the customer's
messages are answered, a rating link for email replies, stored per conversation with the tier
that worked on it, and read by the report."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from email_peers import Relay
from frontdesk.analytics.ratings import csat_figures
from frontdesk.channels.email.settings import EmailSettings
from frontdesk.clock import utcnow
from frontdesk.config import load_settings
from frontdesk.http.security import conversation_token
from frontdesk.keys import rating_link
from frontdesk.server import create_app
from frontdesk.store.repository import Store
from frontdesk.store.staff import StaffUser, add_user


@pytest.fixture
def customer(data_dir: Path) -> Iterator[TestClient]:
    settings = load_settings(data_dir=data_dir, worker={"enabled": False})
    with TestClient(create_app(settings)) as client:
        yield client


def store_of(client: TestClient) -> Store:
    store: Store = client.app.state.services.store  # type: ignore[attr-defined]
    return store


def ask(client: TestClient, text: str) -> tuple[str, dict[str, str]]:
    accepted = client.post("/v1/messages", json={"text": text, "channel": "web"}).json()
    return accepted["conversation_id"], {"X-Conversation-Token": accepted["conversation_token"]}


def process(client: TestClient) -> None:
    worker = client.app.state.services.worker("test")  # type: ignore[attr-defined]
    while worker.run_once():
        pass


def test_a_customer_rates_an_answered_chat(customer: TestClient) -> None:
    conversation_id, token = ask(customer, "where is my order?")
    url = f"/v1/conversations/{conversation_id}/rating"
    early = customer.post(url, json={"score": 5}, headers=token)
    assert early.status_code == 409 and "answered" in early.json()["detail"]
    process(customer)
    assert customer.post(url, json={"score": 4}, headers=token).json() == {
        "conversation_id": conversation_id,
        "score": 4,
    }
    assert customer.post(url, json={"score": 2}, headers=token).status_code == 200  # replaces it
    assert store_of(customer).rating(conversation_id) == 2
    [tier] = {d.decision.tier for d in store_of(customer).conversation(conversation_id).decisions}
    rated = store_of(customer).satisfaction(utcnow() - timedelta(hours=1), utcnow())
    assert rated["all"].ratings == 1 and rated[tier].mean == 2 and rated[tier].csat == 0


def test_ratings_are_refused_without_the_token_or_out_of_range(customer: TestClient) -> None:
    conversation_id, token = ask(customer, "where is my order?")
    process(customer)
    url = f"/v1/conversations/{conversation_id}/rating"
    assert customer.post(url, json={"score": 5}).status_code == 403
    assert (
        customer.post(url, json={"score": 5}, headers={"X-Conversation-Token": "x"}).status_code
        == 403
    )
    for bad in ({"score": 0}, {"score": 6}, {"score": "5 stars"}, {}, {"score": 5, "note": "hi"}):
        assert customer.post(url, json=bad, headers=token).status_code == 422, bad
    unknown = "f" * 32
    key = customer.app.state.secret_key  # type: ignore[attr-defined]
    headers = {"X-Conversation-Token": conversation_token(key, unknown)}
    assert (
        customer.post(
            f"/v1/conversations/{unknown}/rating", json={"score": 5}, headers=headers
        ).status_code
        == 404
    )
    assert store_of(customer).rating(conversation_id) is None


def test_an_email_rating_link_asks_before_it_records(customer: TestClient) -> None:
    conversation_id, _ = ask(customer, "where is my order?")
    process(customer)
    key = customer.app.state.secret_key  # type: ignore[attr-defined]
    link = rating_link("https://support.example.com/", key, conversation_id, 5)
    assert link.startswith(f"https://support.example.com/rate/{conversation_id}?score=5&t=")
    path = link.removeprefix("https://support.example.com")
    page = customer.get(path)
    assert page.status_code == 200 and 'value="5" checked' in page.text
    assert (
        store_of(customer).rating(conversation_id) is None
    )  # a mail scanner's visit records nothing
    token = re.search(r"t=(\w+)", link).group(1)  # type: ignore[union-attr]
    sent = customer.post(f"/rate/{conversation_id}", data={"score": "5", "t": token})
    assert sent.status_code == 200 and "5 out of 5" in sent.text
    assert store_of(customer).rating(conversation_id) == 5
    assert customer.get(f"/rate/{conversation_id}?score=5&t=forged").status_code == 403
    assert (
        customer.post(f"/rate/{conversation_id}", data={"score": "1", "t": "forged"}).status_code
        == 403
    )
    # The rating link's token does not read the conversation.
    assert (
        customer.get(
            f"/v1/conversations/{conversation_id}", headers={"X-Conversation-Token": token}
        ).status_code
        == 403
    )


def test_the_report_reads_satisfaction_per_tier(customer: TestClient) -> None:
    store = store_of(customer)
    window = (utcnow() - timedelta(minutes=1), utcnow() + timedelta(minutes=1))
    assert csat_figures(store, *window) is None
    for score in (5, 4):
        conversation_id, _ = ask(customer, "where is my order?")
        process(customer)
        assert store.rate(conversation_id, score, "chat")
    # A conversation a person answered counts for the human tier.
    conversation_id, _ = ask(customer, "I want to talk to a real person please")
    process(customer)
    [handoff] = store.conversation(conversation_id).handoffs
    add_user(store, "sam", "correct horse battery", "specialist")
    services = customer.app.state.services  # type: ignore[attr-defined]
    services.handoffs.reply(StaffUser("sam", "specialist"), handoff.id, "Hello, Sam here.")
    assert store.rate(conversation_id, 2, "email")
    figures = csat_figures(store, *window)
    assert figures is not None
    assert figures.ratings == 3 and figures.average == pytest.approx(11 / 3, abs=1e-3)
    assert figures.satisfied == pytest.approx(2 / 3, abs=1e-4)
    assert figures.per_tier == {"auto": 4.5, handoff.tier: 2}


def test_an_email_reply_carries_rating_links_that_work(data_dir: Path, relay: Relay) -> None:
    """A bot's reply by email, sent by the serving app's own sender to a real SMTP relay on
    loopback, ends with five rating links; the link for 4 rates the conversation 4."""
    settings = load_settings(data_dir=data_dir, worker={"enabled": False})
    email = EmailSettings(
        address="support@harbor.example",
        relay_host="127.0.0.1",
        relay_port=relay.port,
        relay_starttls=False,
        send_poll_seconds=0.1,
        public_url="https://support.harbor.example",
    )
    with TestClient(create_app(settings.model_copy(update={"email": email}))) as client:
        services = client.app.state.services  # type: ignore[attr-defined]
        accepted = services.intake.accept(
            "where is my order?", "email", customer_ref="ann@example.org"
        )
        process(client)
        [mail] = relay.wait_for(1)
        body = mail.get_body(("plain",))
        assert body is not None
        links = re.findall(r"^(\d): (https://\S+?)\r?$", body.get_content(), re.MULTILINE)
        assert [score for score, _ in links] == ["1", "2", "3", "4", "5"]
        html = mail.get_body(("html",))
        assert html is not None and html.get_content().count("/rate/") == 5
        path = dict(links)["4"].removeprefix("https://support.harbor.example")
        page = client.get(path)
        assert page.status_code == 200 and 'value="4" checked' in page.text
        token = re.search(r"t=(\w+)", path).group(1)  # type: ignore[union-attr]
        conversation_id = accepted.message.conversation_id
        client.post(f"/rate/{conversation_id}", data={"score": "4", "t": token})
        assert store_of(client).rating(conversation_id) == 4

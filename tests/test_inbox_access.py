"""Who may reach the inbox pages: staff only, by role, with CSRF on every form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from conftest import STAFF_PASSWORD
from frontdesk.config import load_settings
from frontdesk.contracts import Handoff
from frontdesk.server import create_app
from frontdesk.store.staff import add_user
from frontdesk.web import inbox

HTML = {"Accept": "text/html"}


@pytest.fixture
def app_client(data_dir: Path) -> Iterator[TestClient]:
    settings = load_settings(data_dir=data_dir)
    with TestClient(create_app(settings)) as client:
        store = client.app.state.services.store
        add_user(store, "alice", STAFF_PASSWORD, "agent")
        add_user(store, "sam", STAFF_PASSWORD, "specialist")
        yield client


def csrf_of(page_html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page_html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def sign_in(client: TestClient, username: str) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    token = csrf_of(client.get("/inbox/login").text)
    response = client.post(
        "/inbox/login",
        data={"username": username, "password": STAFF_PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/inbox").text)


def handoff_for(client: TestClient, text: str) -> tuple[Handoff, dict]:
    started = client.post("/v1/messages", json={"text": text}).json()
    # The long poll answers once the app's worker has decided the message; the decision and its
    # handoff are stored in one transaction. (The customer sees the handoff, not the decision.)
    decided = client.get(
        f"/v1/conversations/{started['conversation_id']}",
        params={"decided": started["message_id"], "wait": 30},
        headers={"X-Conversation-Token": started["conversation_token"]},
    ).json()
    answered = [r["in_reply_to"] for r in decided["replies"]]
    assert answered + [h["message_id"] for h in decided["handoffs"]] == [started["message_id"]]
    store = client.app.state.services.store
    for handoff in store.list_handoffs():
        if handoff.conversation_id == started["conversation_id"]:
            return handoff, started
    raise AssertionError(f"{text!r} was not handed to a person")


def inbox_routes() -> list[tuple[str, str]]:
    """Every route of the inbox, with placeholders filled in."""
    routes = []
    for route in inbox.router.routes:
        if isinstance(route, APIRoute):
            path = route.path.replace("{handoff_id}", "0123456789abcdef0123456789abcdef")
            routes += [(method, path) for method in route.methods]
    return routes


def test_every_inbox_route_refuses_a_request_without_a_session(app_client: TestClient) -> None:
    routes = inbox_routes()
    assert len(routes) >= 10
    for method, path in routes:
        if path == "/inbox/login":
            continue
        response = app_client.request(method, path, headers=HTML, follow_redirects=False)
        if method == "GET" and response.status_code == 303:
            assert response.headers["location"].startswith("/inbox/login"), path
        else:
            assert response.status_code == 401, (method, path, response.status_code)
        assert "handoff" not in response.text.lower() or response.status_code == 401, path


def test_a_customer_can_read_neither_the_inbox_nor_another_conversation(
    app_client: TestClient,
) -> None:
    _, mine = handoff_for(app_client, "I want to talk to a real person please")
    _, theirs = handoff_for(app_client, "can a person call me about my order")
    token = {"X-Conversation-Token": mine["conversation_token"]}
    assert app_client.get(f"/v1/conversations/{mine['conversation_id']}", headers=token).is_success
    other = app_client.get(f"/v1/conversations/{theirs['conversation_id']}", headers=token)
    assert other.status_code in (403, 404)
    assert theirs["conversation_id"] not in other.text
    for path in ("/inbox", "/inbox/overview", "/v1/handoffs", "/v1/metrics"):
        response = app_client.get(path, headers=token, follow_redirects=False)
        assert response.status_code in (303, 401), path
        assert "real person" not in response.text


def test_an_agent_cannot_open_or_act_on_specialist_conversations(app_client: TestClient) -> None:
    specialist, _ = handoff_for(app_client, "I will ask my lawyer to sue you over this order")
    assert specialist.tier == "specialist"
    csrf = sign_in(app_client, "alice")
    assert specialist.id not in app_client.get("/inbox").text
    page = app_client.get(f"/inbox/handoffs/{specialist.id}", headers=HTML)
    assert page.status_code == 403
    assert "lawyer" not in page.text
    for action in ("claim", "reply", "hand-back", "escalate"):
        response = app_client.post(
            f"/inbox/handoffs/{specialist.id}/{action}",
            data={"csrf_token": csrf, "text": "hello"},
            follow_redirects=False,
        )
        assert response.status_code == 403, action
    events = app_client.get(f"/inbox/events?conversation={specialist.conversation_id}")
    assert events.status_code == 403
    assert app_client.app.state.services.store.get_handoff(specialist.id).assignee is None

    app_client.cookies.clear()
    sign_in(app_client, "sam")
    page = app_client.get(f"/inbox/handoffs/{specialist.id}", headers=HTML)
    assert page.status_code == 200
    assert "lawyer" in page.text


def test_forms_need_the_session_csrf_token(app_client: TestClient) -> None:
    handoff, _ = handoff_for(app_client, "I want to talk to a real person please")
    no_token = app_client.post(
        "/inbox/login", data={"username": "alice", "password": STAFF_PASSWORD, "csrf_token": "x"}
    )
    assert no_token.status_code == 403
    sign_in(app_client, "alice")
    forged = app_client.post(
        f"/inbox/handoffs/{handoff.id}/claim",
        data={"csrf_token": "forged"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert app_client.app.state.services.store.get_handoff(handoff.id).assignee is None


def test_wrong_password_sign_out_and_redirect_targets(app_client: TestClient) -> None:
    token = csrf_of(app_client.get("/inbox/login").text)
    wrong = app_client.post(
        "/inbox/login",
        data={"username": "alice", "password": "nope-nope-nope", "csrf_token": token},
    )
    assert wrong.status_code == 401
    assert "Wrong name or password" in wrong.text
    token = csrf_of(wrong.text)
    outward = app_client.post(
        "/inbox/login",
        data={
            "username": "alice",
            "password": STAFF_PASSWORD,
            "csrf_token": token,
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert outward.headers["location"] == "/inbox"
    csrf = csrf_of(app_client.get("/inbox").text)
    out = app_client.post("/inbox/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    after = app_client.get("/inbox", follow_redirects=False)
    assert after.status_code == 303
    assert after.headers["location"].startswith("/inbox/login")


def test_agent_resolves_with_a_corrected_intent_through_the_form(app_client: TestClient) -> None:
    handoff, _ = handoff_for(app_client, "I want to talk to a real person please")
    csrf = sign_in(app_client, "alice")
    page = app_client.get(f"/inbox/handoffs/{handoff.id}", headers=HTML)
    assert page.status_code == 200
    missing = app_client.post(
        f"/inbox/handoffs/{handoff.id}/reply",
        data={"csrf_token": csrf, "text": "Hello!", "outcome": "wrong_intent"},
    )
    assert "Choose the right intent" in missing.text
    sent = app_client.post(
        f"/inbox/handoffs/{handoff.id}/reply",
        data={
            "csrf_token": csrf,
            "text": "Hello, I can help with your order.",
            "outcome": "wrong_intent",
            "correct_intent": "track_order",
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303
    resolved = app_client.app.state.services.store.get_handoff(handoff.id)
    assert (resolved.status, resolved.outcome) == ("resolved", "wrong_intent")
    assert (resolved.correct_intent, resolved.resolved_by) == ("track_order", "alice")


def test_hand_back_sends_the_bot_draft_as_the_bot(app_client: TestClient) -> None:
    handoff, started = handoff_for(app_client, "I want to talk to a real person please")
    csrf = sign_in(app_client, "alice")
    app_client.post(f"/inbox/handoffs/{handoff.id}/hand-back", data={"csrf_token": csrf})
    resolved = app_client.app.state.services.store.get_handoff(handoff.id)
    assert resolved.outcome == "handed_back"
    view = app_client.get(
        f"/v1/conversations/{started['conversation_id']}",
        headers={"X-Conversation-Token": started["conversation_token"]},
    ).json()
    assert view["replies"][-1]["text"] == handoff.packet.draft.text
    assert not view["replies"][-1]["author"].startswith("agent:")


def test_overview_shows_todays_volumes(app_client: TestClient) -> None:
    handoff_for(app_client, "I want to talk to a real person please")
    sign_in(app_client, "alice")
    page = app_client.get("/inbox/overview")
    assert page.status_code == 200
    today = page.text.split('id="today"')[1].split("</section>")[0]
    assert re.search(r"<strong>1</strong> messages", today)
    assert "resolved automatically" in today
    # The report's headline figures for today: the one conversation went to a person.
    headline = page.text.split('id="headline"')[1].split("</section>")[0]
    assert re.search(r"<strong>100 %</strong> first-level escalation rate", headline)
    assert re.search(r"<strong>0 %</strong> answered by the bot", headline)
    assert "CSAT" in headline and "per conversation" in headline


def test_holder_assigns_to_a_colleague_and_others_cannot_take_it(app_client: TestClient) -> None:
    store = app_client.app.state.services.store
    add_user(store, "bob", STAFF_PASSWORD, "agent")
    add_user(store, "ada", STAFF_PASSWORD, "admin")
    handoff, _ = handoff_for(app_client, "I want to talk to a real person please")
    csrf = sign_in(app_client, "alice")
    app_client.post(f"/inbox/handoffs/{handoff.id}/claim", data={"csrf_token": csrf})
    given = app_client.post(
        f"/inbox/handoffs/{handoff.id}/assign", data={"csrf_token": csrf, "assignee": "bob"}
    )
    assert given.status_code == 200
    assert store.get_handoff(handoff.id).assignee == "bob"
    taken_back = app_client.post(
        f"/inbox/handoffs/{handoff.id}/assign", data={"csrf_token": csrf, "assignee": "alice"}
    )
    assert "bob is working on this one." in taken_back.text
    assert store.get_handoff(handoff.id).assignee == "bob"

    app_client.cookies.clear()
    csrf = sign_in(app_client, "ada")
    app_client.post(f"/inbox/handoffs/{handoff.id}/assign", data={"csrf_token": csrf})
    released = store.get_handoff(handoff.id)
    assert (released.assignee, released.claimed_at) == (None, None)
    nobody = app_client.post(
        f"/inbox/handoffs/{handoff.id}/assign", data={"csrf_token": csrf, "assignee": "zed"}
    )
    assert "zed cannot work this conversation." in nobody.text

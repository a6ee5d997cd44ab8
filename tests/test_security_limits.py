"""Limits on what one client may ask (issue 19, point 3): staff sign-ins back off and lock per
account and per address, logged, with an admin unlock; failed identifications in a conversation
hand it to a person; messages per conversation and per address get 429 with Retry-After."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
import structlog
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from conftest import REDIS_URL, STAFF_PASSWORD, MovedClock
from frontdesk.cli.main import app as cli
from frontdesk.commerce.embedded import EmbeddedShop
from frontdesk.config import ConfigError, get_settings, load_settings
from frontdesk.runtime.services import Services, build_services, open_store
from frontdesk.server import create_app
from frontdesk.store import staff
from frontdesk.store.staff import add_user
from frontdesk.tools.toolbox import Toolbox, ToolState, Turn
from realtime_chat import Chat, find

WRONG = "not the password at all"
BACKOFF = [0, 1, 2, 4]  # seconds after failures 1–4 (sign_in_backoff_seconds = 1, doubling)
LOCKOUT = timedelta(minutes=15)


class CountingHasher(PasswordHasher):
    """The tests' cheap hasher, counting how often a password is checked (argon2 work)."""

    checks = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        CountingHasher.checks += 1
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> type[CountingHasher]:
    CountingHasher.checks = 0
    monkeypatch.setattr(staff, "HASHER", CountingHasher(time_cost=1, memory_cost=8, parallelism=1))
    return CountingHasher


def client_for(data_dir: Path, **limits: Any) -> TestClient:
    settings = load_settings(data_dir=data_dir, worker={"enabled": False}, limits=limits)
    return TestClient(create_app(settings))


@pytest.fixture
def app(data_dir: Path, clock: MovedClock) -> Iterator[TestClient]:
    with client_for(data_dir) as client:
        store = client.app.state.services.store
        add_user(store, "alice", STAFF_PASSWORD, "agent")
        add_user(store, "root", STAFF_PASSWORD, "admin")
        yield client


def login(client: TestClient, username: str, password: str = STAFF_PASSWORD):
    return client.post("/v1/auth/login", json={"username": username, "password": password})


def fail_until_locked(client: TestClient, clock: MovedClock, username: str) -> None:
    """Five wrong passwords, each after the wait the one before it earned."""
    for wait in [*BACKOFF, None]:
        assert login(client, username, WRONG).status_code == 401
        if wait:
            clock.advance(timedelta(seconds=wait))


@pytest.fixture
def logs() -> Iterator[list[dict[str, Any]]]:
    """The events logged meanwhile, as structlog hands them to its processors."""
    with structlog.testing.capture_logs() as captured:
        yield captured


# staff sign-in


def test_brute_force_is_locked_out_logged_and_over_after_the_window(
    app: TestClient,
    clock: MovedClock,
    hasher: type[CountingHasher],
    logs: list[dict[str, Any]],
) -> None:
    fail_until_locked(app, clock, "alice")
    assert hasher.checks == 5
    for password in (WRONG, STAFF_PASSWORD):  # locked: the right password waits as well
        refused = login(app, "alice", password)
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) == LOCKOUT.total_seconds()
        assert "too many failed sign-ins" in refused.json()["detail"]
    assert hasher.checks == 5  # refused before any argon2 work
    events = list(logs)
    failed = [e for e in events if e["event"] == "auth.sign_in_failed"]
    assert [e["account_failures"] for e in failed] == [1, 2, 3, 4, 5]
    assert failed[-1]["locked"] == ["account"] and failed[-1]["username"] == "alice"
    refusals = [e for e in events if e["event"] == "auth.sign_in_refused"]
    assert len(refusals) == 2 and refusals[0]["waiting"] == "account"
    assert STAFF_PASSWORD not in json.dumps(events) and WRONG not in json.dumps(events)

    clock.advance(LOCKOUT)
    signed_in = login(app, "alice", STAFF_PASSWORD)
    assert signed_in.status_code == 200
    assert [e["event"] for e in logs[len(events) :]] == ["auth.signed_in"]
    # The success forgot the failures: a slip now costs nothing, not another lock.
    assert login(app, "alice", WRONG).status_code == 401
    assert login(app, "alice", STAFF_PASSWORD).status_code == 200


def test_one_slip_is_free_then_the_wait_doubles(app: TestClient, clock: MovedClock) -> None:
    assert login(app, "alice", WRONG).status_code == 401
    assert login(app, "alice", WRONG).status_code == 401  # at once: a slip costs nothing
    early = login(app, "alice", STAFF_PASSWORD)
    assert early.status_code == 429 and early.headers["Retry-After"] == "1"
    clock.advance(timedelta(seconds=1))
    assert login(app, "alice", WRONG).status_code == 401
    assert login(app, "alice", WRONG).headers["Retry-After"] == "2"
    clock.advance(timedelta(seconds=2))
    assert login(app, "alice", STAFF_PASSWORD).status_code == 200


def test_a_lock_after_the_window_comes_back_with_the_next_wrong_password(
    app: TestClient, clock: MovedClock
) -> None:
    fail_until_locked(app, clock, "alice")
    clock.advance(LOCKOUT)
    assert login(app, "alice", WRONG).status_code == 401
    assert login(app, "alice", STAFF_PASSWORD).status_code == 429


def test_an_unknown_name_is_locked_like_a_real_one(app: TestClient, clock: MovedClock) -> None:
    fail_until_locked(app, clock, "nobody")
    fail_until_locked(app, clock, "alice")
    unknown, known = login(app, "nobody", WRONG), login(app, "alice", WRONG)
    assert unknown.status_code == known.status_code == 429
    # Nothing tells which names are accounts (but the seconds left, which differ here).
    assert re.sub(r"\d+", "N", unknown.text) == re.sub(r"\d+", "N", known.text)


def test_an_address_is_locked_after_failures_across_accounts(
    data_dir: Path, clock: MovedClock
) -> None:
    with client_for(data_dir, sign_in_failures_per_address=3) as client:
        add_user(client.app.state.services.store, "alice", STAFF_PASSWORD, "agent")
        for name in ("bob", "carol", "dave"):  # one guess each: no account backs off
            assert login(client, name, WRONG).status_code == 401
        refused = login(client, "alice", STAFF_PASSWORD)
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) == LOCKOUT.total_seconds()
        clock.advance(LOCKOUT)
        assert login(client, "alice", STAFF_PASSWORD).status_code == 200


def test_an_admin_unlocks_an_account_and_an_address_through_the_api(
    app: TestClient, clock: MovedClock
) -> None:
    fail_until_locked(app, clock, "alice")
    clock.advance(timedelta(seconds=1))
    assert login(app, "root").status_code == 200  # the address has 5 of its 20
    unlocked = app.post("/v1/auth/unlock", json={"username": "alice", "address": "testclient"})
    assert unlocked.status_code == 200
    assert unlocked.json() == {"forgotten": {"account:alice": 5, "address:testclient": 5}}
    assert app.post("/v1/auth/unlock", json={}).status_code == 422
    assert login(app, "alice").status_code == 200
    # Only admins unlock: alice is an agent.
    assert app.post("/v1/auth/unlock", json={"username": "alice"}).status_code == 403


def test_frontdesk_users_unlock(
    app: TestClient, clock: MovedClock, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_until_locked(app, clock, "alice")
    assert login(app, "alice").status_code == 429
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        done = runner.invoke(cli, ["users", "unlock", "alice"])
        again = runner.invoke(cli, ["users", "unlock", "alice", "--address", "198.51.100.4"])
        neither = runner.invoke(cli, ["users", "unlock"])
    finally:
        get_settings.cache_clear()
    assert done.exit_code == 0, done.output
    assert "unlocked account:alice (5 failed sign-ins forgotten)" in done.output
    assert again.exit_code == 0
    assert "account:alice had no failed sign-ins" in again.output
    assert "address:198.51.100.4 had no failed sign-ins" in again.output
    assert neither.exit_code == 2
    assert login(app, "alice").status_code == 200


def test_the_inbox_form_is_limited_too(app: TestClient, clock: MovedClock) -> None:
    page = app.get("/inbox/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def form(password: str):
        data = {"username": "alice", "password": password, "csrf_token": token}
        return app.post("/inbox/login", data=data, follow_redirects=False)

    assert form(WRONG).status_code == form(WRONG).status_code == 401
    refused = form(STAFF_PASSWORD)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    assert "Too many failed sign-ins" in refused.text
    clock.advance(timedelta(seconds=1))
    assert form(STAFF_PASSWORD).status_code == 303


def test_limits_are_checked_when_settings_load() -> None:
    with pytest.raises(ConfigError, match=r"limits\.sign_in_failures_per_account"):
        load_settings(limits={"sign_in_failures_per_account": 0})
    with pytest.raises(ConfigError, match=r"limits\.burst"):
        load_settings(limits={"burst": 3})


# identification attempts


@pytest.fixture
def services(data_dir: Path) -> Iterator[Services]:
    built = build_services(load_settings(data_dir=data_dir, limits={"identification_attempts": 3}))
    yield built
    built.close()


def test_failed_identifications_hand_the_conversation_to_a_person(services: Services) -> None:
    customer, _ = find("pending")
    name = customer.name
    chat = Chat(services)
    chat.say("where is my order?")
    for zip_code in ("00001", "00002"):
        reply = chat.say(f"I'm {name.first_name} {name.last_name}, zip {zip_code}")
        assert "couldn't find an account" in reply
    chat.say(f"I'm {name.first_name} {name.last_name}, zip 00003", expect_auto=False)
    # Closed: even the right email identifies no one, and a person answers.
    draft = chat.say(f"my email is {customer.email}", expect_auto=False)
    assert "colleague will take over" in draft
    assert [turn.tier for turn in chat.turns] == ["auto", "auto", "auto", "human", "human"]
    view = services.store.conversation(chat.conversation)
    last = view.decisions[-1]
    assert any(hit.rule == "guardrail_tripped:guardrail" for hit in last.decision.rules)
    assert "too many failed identifications" in json.dumps([h.detail for h in last.decision.rules])
    assert not any(call.name.startswith("find_user") for call in last.tool_calls)
    assert len(view.handoffs) == 2 and view.status == "waiting_for_person"


def test_the_tools_refuse_to_identify_once_closed(data_dir: Path) -> None:
    shop = EmbeddedShop(open_store(load_settings(data_dir=data_dir)))
    customer, _ = find("pending")
    box = Toolbox(shop, shop, identification_attempts=2)
    state = ToolState()
    for n, email in enumerate(["a@example.com", "b@example.com"], start=1):
        _, result = box.call(Turn(state, f"m{n}", False), "find_user_id_by_email", {"email": email})
        assert not result.ok and state.failed_identifications == n
    assert state.identification_closed
    _, result = box.call(
        Turn(state, "m3", False), "find_user_id_by_email", {"email": customer.email}
    )
    assert not result.ok and "a person must confirm" in (result.error or "")
    assert state.user_id is None


# message rates


def post(client: TestClient, text: str, started: dict | None = None):
    if started is None:
        return client.post("/v1/messages", json={"text": text})
    return client.post(
        f"/v1/conversations/{started['conversation_id']}/messages",
        json={"text": text},
        headers={"X-Conversation-Token": started["conversation_token"]},
    )


def assert_limited(response, per: str) -> None:
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert per in response.json()["detail"]


def test_messages_per_conversation_and_per_address(data_dir: Path) -> None:
    limits = {"messages_per_conversation_per_minute": 3, "messages_per_address_per_minute": 6}
    with client_for(data_dir, **limits) as client:
        started = post(client, "hello").json()
        for text in ("where is my order?", "it's #W1234567"):
            assert post(client, text, started).status_code == 202
        assert_limited(post(client, "hello?", started), "in this conversation")
        # A stranger without the token is refused before spending the conversation's allowance.
        stranger = client.post(
            f"/v1/conversations/{started['conversation_id']}/messages", json={"text": "hi"}
        )
        assert stranger.status_code == 403
        assert post(client, "a new conversation").status_code == 202
        assert_limited(post(client, "and another"), "from your address")


def test_message_rates_are_shared_through_redis(data_dir: Path, redis_queue_name: str) -> None:
    settings = load_settings(
        data_dir=data_dir,
        worker={"enabled": False},
        queue={"backend": "redis", "redis_url": REDIS_URL, "name": redis_queue_name},
        limits={"messages_per_address_per_minute": 2},
    )
    with TestClient(create_app(settings)) as first, TestClient(create_app(settings)) as second:
        assert post(first, "hello").status_code == 202
        assert post(second, "hello again").status_code == 202
        assert_limited(post(first, "third"), "from your address")
        assert_limited(post(second, "fourth"), "from your address")
    keys = redis.Redis.from_url(REDIS_URL).keys(f"{redis_queue_name}:limits:*")
    assert keys

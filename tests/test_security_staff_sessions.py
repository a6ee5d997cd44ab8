"""Staff sessions live in the store: the signed cookie carries only the session id, and it stops
working at sign-out, when the account is disabled or its password reset, after the idle timeout
and at the absolute expiry (issue 19, point 5). Time passes by the project's clock."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from conftest import STAFF_PASSWORD, MovedClock, sign_in
from frontdesk.cli.main import app as cli
from frontdesk.config import Settings, get_settings, load_settings
from frontdesk.server import create_app
from frontdesk.store.tables import AuditRow, StaffSessionRow

COOKIE = "frontdesk_session"
runner = CliRunner()


def client_for(data_dir: Path, **server: object) -> TestClient:
    settings = load_settings(data_dir=data_dir, worker={"enabled": False}, server=server)
    return TestClient(create_app(settings))


@pytest.fixture
def app(backend_settings: Settings, clock: MovedClock) -> Iterator[TestClient]:
    """The app on the embedded store and on PostgreSQL."""
    worker = backend_settings.worker.model_copy(update={"enabled": False})
    with TestClient(create_app(backend_settings.model_copy(update={"worker": worker}))) as client:
        yield client


@pytest.fixture
def frontdesk(backend_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The `frontdesk` command on the same store as the app."""
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(backend_settings.data_dir))
    if backend_settings.store.url:
        monkeypatch.setenv("FRONTDESK_STORE__URL", backend_settings.store.url)
    get_settings.cache_clear()
    yield runner
    get_settings.cache_clear()


def me(client: TestClient, cookie: str) -> int:
    """Who the cookie signs in, asked with that cookie alone (a copy kept by anyone)."""
    fresh = TestClient(client.app)  # shares the app and its store, not the cookie jar
    return fresh.get("/v1/auth/me", headers={"Cookie": f"{COOKIE}={cookie}"}).status_code


def signed_in(client: TestClient, username: str = "alice", role: str = "agent") -> str:
    client.cookies.clear()
    sign_in(client, username, role)
    cookie = client.cookies[COOKIE]
    assert me(client, cookie) == 200
    return cookie


def test_the_cookie_carries_only_the_session_id_and_the_store_only_its_hash(
    app: TestClient,
) -> None:
    cookie = signed_in(app)
    payload = cookie.split(".")[0]
    content = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    assert list(content) == ["sid"]
    store = app.app.state.services.store
    with store.session() as session:
        [row] = session.scalars(select(StaffSessionRow))
    assert row.username == "alice"
    assert content["sid"] not in row.id_hash


def test_a_cookie_stops_working_after_sign_out(app: TestClient) -> None:
    cookie = signed_in(app)
    assert app.post("/v1/auth/logout", json={}).status_code == 204
    assert me(app, cookie) == 401  # before: the signed cookie was valid until it expired
    # The inbox's sign-out form, too.
    cookie = signed_in(app)
    page = app.get("/inbox", headers={"Accept": "text/html"})
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    out = app.post("/inbox/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert me(app, cookie) == 401


def test_disabling_an_account_ends_its_sessions_at_once(
    app: TestClient, frontdesk: CliRunner, clock: MovedClock
) -> None:
    cookie = signed_in(app, "alice")
    other = signed_in(app, "bob")
    disabled = frontdesk.invoke(cli, ["users", "disable", "alice"])
    assert disabled.exit_code == 0, disabled.output
    assert "1 sessions ended" in disabled.output
    assert me(app, cookie) == 401
    assert me(app, other) == 200
    credentials = {"username": "alice", "password": STAFF_PASSWORD}
    assert app.post("/v1/auth/login", json=credentials).status_code == 401
    listed = frontdesk.invoke(cli, ["users", "list"])
    assert "alice  agent" in listed.output and "disabled" in listed.output
    assert "bob  agent" in listed.output and "1 sessions" in listed.output
    clock.advance(timedelta(minutes=1))  # past any wait the failed sign-in earned
    assert frontdesk.invoke(cli, ["users", "enable", "alice"]).exit_code == 0
    assert app.post("/v1/auth/login", json=credentials).status_code == 200
    assert me(app, cookie) == 401  # the old session stays ended
    assert frontdesk.invoke(cli, ["users", "disable", "nobody"]).exit_code == 2
    with app.app.state.services.store.session() as session:
        actions = session.scalars(select(AuditRow.action).where(AuditRow.actor == "cli")).all()
    assert actions == ["staff.disabled", "staff.enabled"]


def test_a_password_reset_ends_the_sessions_and_the_old_password(
    app: TestClient, frontdesk: CliRunner, clock: MovedClock
) -> None:
    cookie = signed_in(app, "alice")
    new_password = "a whole new password"
    reset = frontdesk.invoke(
        cli, ["users", "reset-password", "alice", "--password-stdin"], input=f"{new_password}\n"
    )
    assert reset.exit_code == 0, reset.output
    assert me(app, cookie) == 401
    old = {"username": "alice", "password": STAFF_PASSWORD}
    assert app.post("/v1/auth/login", json=old).status_code == 401
    clock.advance(timedelta(minutes=1))
    new = {"username": "alice", "password": new_password}
    assert app.post("/v1/auth/login", json=new).status_code == 200
    short = frontdesk.invoke(
        cli, ["users", "reset-password", "alice", "--password-stdin"], input="short\n"
    )
    assert short.exit_code == 2 and "10 characters" in short.output


def test_a_session_ends_after_the_idle_timeout(app: TestClient, clock: MovedClock) -> None:
    cookie = signed_in(app)
    clock.advance(timedelta(minutes=20))
    assert me(app, cookie) == 200  # activity moves the idle timeout on
    clock.advance(timedelta(minutes=20))
    assert me(app, cookie) == 200
    clock.advance(timedelta(minutes=30, seconds=1))  # server.session_idle_minutes = 30
    assert me(app, cookie) == 401


def test_a_session_ends_at_its_absolute_expiry_however_active(
    data_dir: Path, clock: MovedClock
) -> None:
    with client_for(data_dir, session_hours=1, session_idle_minutes=30) as app:
        cookie = signed_in(app)
        for _ in range(3):
            clock.advance(timedelta(minutes=19))
            assert me(app, cookie) == 200
        clock.advance(timedelta(minutes=4))
        assert me(app, cookie) == 401


def test_users_list_without_accounts(frontdesk: CliRunner) -> None:
    listed = frontdesk.invoke(cli, ["users", "list"])
    assert listed.exit_code == 0
    assert "no staff accounts" in listed.output

"""Security headers on every answer, the chat page framable by the widget's sites only, HSTS on
TLS, an Origin check on the staff's state-changing JSON routes, and session cookies `Secure` by
default off loopback (issue 19, point 5)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import STAFF_PASSWORD, sign_in
from frontdesk.config import ConfigError, ServerSettings, load_settings
from frontdesk.http.security import cookies_secure
from frontdesk.server import create_app
from frontdesk.store.staff import add_user, find_user
from test_api import process_queued

EVIL = "https://evil.example"


def client_for(data_dir: Path, base_url: str = "http://testserver", **server: object) -> TestClient:
    settings = load_settings(data_dir=data_dir, worker={"enabled": False}, server=server)
    return TestClient(create_app(settings), base_url=base_url)


@pytest.fixture
def app(data_dir: Path) -> Iterator[TestClient]:
    with client_for(data_dir) as client:
        yield client


def directives(policy: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/inbox/login"),
        ("GET", "/inbox"),  # a redirect to the sign-in form
        ("GET", "/widget.js"),
        ("GET", "/inbox/static/inbox.js"),
        ("GET", "/healthz"),
        ("GET", "/v1/auth/me"),  # 401
        ("GET", "/v1/conversations/" + "a" * 32),  # 403
        ("GET", "/no-such-page"),  # 404
        ("POST", "/v1/messages"),  # 422: no body
        ("GET", "/docs"),
    ],
)
def test_every_answer_carries_the_headers_and_no_page_but_the_chat_is_framed(
    app: TestClient, method: str, path: str
) -> None:
    response = app.request(method, path, follow_redirects=False)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP
    if path.startswith("/inbox"):
        assert policy["default-src"] == "'self'"  # the inbox runs its own files, nothing inline


def test_the_chat_page_runs_only_its_own_inline_code_and_any_site_may_frame_it(
    app: TestClient,
) -> None:
    response = app.get("/?embed=1")
    assert "X-Frame-Options" not in response.headers
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["frame-ancestors"] == "*"  # server.widget_origins by default
    assert policy["default-src"] == "'none'"
    assert policy["connect-src"] == "'self'"
    for kind in ("script", "style"):
        [inline] = re.findall(rf"<{kind}>(.*?)</{kind}>", response.text, re.DOTALL)
        digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
        assert policy[f"{kind}-src"] == f"'sha256-{digest}'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_widget_origins_setting_names_who_may_frame_the_chat(data_dir: Path) -> None:
    shops = ["https://shop.example.com", "http://127.0.0.1:8080"]
    with client_for(data_dir, widget_origins=shops) as client:
        policy = directives(client.get("/").headers["Content-Security-Policy"])
        assert policy["frame-ancestors"] == " ".join(shops)
    with pytest.raises(ConfigError, match="widget_origins"):
        load_settings(server={"widget_origins": ["shop.example.com/path"]})


def test_hsts_over_tls(data_dir: Path) -> None:
    with client_for(data_dir, base_url="https://testserver") as client:
        for path in ("/", "/inbox/login", "/healthz"):
            assert client.get(path).headers["Strict-Transport-Security"] == "max-age=31536000"


def test_a_cross_origin_post_to_a_staff_route_is_refused(app: TestClient) -> None:
    started = app.post("/v1/messages", json={"text": "let me speak to a human agent"}).json()
    assert process_queued(app) == 1
    sign_in(app, "alice", "agent")
    [handoff] = app.get("/v1/handoffs").json()
    assert handoff["message_id"] == started["message_id"]
    claim = f"/v1/handoffs/{handoff['id']}/claim"
    for origin in (EVIL, "null", "http://testserver.evil.example", "not a url"):
        refused = app.post(claim, json={}, headers={"Origin": origin})
        assert refused.status_code == 403, origin
        assert refused.json()["detail"] == "refused: a request from another site"
    assert app.get("/v1/handoffs").json()[0]["assignee"] is None  # nothing happened
    reply = f"/v1/handoffs/{handoff['id']}/reply"
    assert app.post(reply, json={"text": "hi"}, headers={"Origin": EVIL}).status_code == 403
    assert app.post("/v1/auth/logout", json={}, headers={"Origin": EVIL}).status_code == 403
    assert app.get("/v1/auth/me").status_code == 200  # still signed in
    login = {"username": "alice", "password": "whatever it is"}
    assert app.post("/v1/auth/login", json=login, headers={"Origin": EVIL}).status_code == 403
    # The page's own origin, and clients that send none (curl, scripts), are served.
    own = app.post(claim, json={}, headers={"Origin": "http://testserver"})
    assert own.status_code == 200, own.text
    assert own.json()["assignee"] == "alice"
    # A customer's post is not a staff route: the chat works from wherever the widget is.
    continued = app.post(
        f"/v1/conversations/{started['conversation_id']}/messages",
        json={"text": "hello?"},
        headers={"Origin": EVIL, "X-Conversation-Token": started["conversation_token"]},
    )
    assert continued.status_code == 202


@pytest.mark.parametrize(
    ("host", "configured", "secure"),
    [
        ("127.0.0.1", None, False),
        ("::1", None, False),
        ("localhost", None, False),
        ("0.0.0.0", None, True),
        ("192.0.2.10", None, True),
        ("support.example.com", None, True),
        ("0.0.0.0", False, False),
        ("127.0.0.1", True, True),
    ],
)
def test_session_cookies_are_secure_unless_the_server_listens_on_loopback(
    host: str, configured: bool | None, secure: bool
) -> None:
    assert cookies_secure(ServerSettings(host=host, secure_cookies=configured)) is secure


def test_a_server_bound_outside_loopback_sets_a_secure_cookie(data_dir: Path) -> None:
    for host, secure in (("0.0.0.0", True), ("127.0.0.1", False)):
        with client_for(data_dir, base_url="https://testserver", host=host) as client:
            store = client.app.state.services.store
            if find_user(store, "alice") is None:
                add_user(store, "alice", STAFF_PASSWORD, "agent")
            login = {"username": "alice", "password": STAFF_PASSWORD}
            signed = client.post("/v1/auth/login", json=login)
            assert signed.status_code == 200
            assert ("; secure" in signed.headers["set-cookie"].lower()) is secure

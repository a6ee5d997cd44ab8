"""Hostile input gets a 4xx with a reason, never a 500; a failure of ours is a 500 that is
logged through the redacting logger (issue 19, finding 4)."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote_plus

import pytest
import structlog
from fastapi.testclient import TestClient

from conftest import STAFF_PASSWORD, sign_in
from frontdesk.config import load_settings
from frontdesk.observability.logging import configure_logging
from frontdesk.server import create_app
from frontdesk.store.staff import add_user
from server import ServerProcess
from test_api import stored_messages

LIMIT = 65_536
NON_ASCII = "tök€n".encode()  # as the bytes of a header: Starlette reads them as Latin-1


@pytest.fixture
def app(data_dir: Path) -> Iterator[TestClient]:
    settings = load_settings(data_dir=data_dir, server={"max_body_bytes": LIMIT})
    with TestClient(create_app(settings)) as client:
        yield client


def started(client: TestClient) -> dict:
    response = client.post("/v1/messages", json={"text": "hello"})
    assert response.status_code == 202
    return response.json()


def reason(response) -> str:
    return json.dumps(response.json()["detail"])


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"text": "hi \\ud800 there"}', "lone surrogate"),
        (b'{"text": "\\udfff"}', "lone surrogate"),
        (b'{"text": "hi \\u0000 there"}', "NUL"),
        (b'{"text": "hi", "channel": "web\\u0000"}', "body.channel"),  # not one of the two
    ],
)
def test_text_no_database_can_store_is_refused_with_its_reason(
    app: TestClient, body: bytes, why: str
) -> None:
    response = app.post("/v1/messages", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert why in reason(response)
    assert stored_messages(app) == 0


def test_bytes_that_are_not_utf8_are_not_json(app: TestClient) -> None:
    body = b'{"text": "caf\xe9"}'
    response = app.post("/v1/messages", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert stored_messages(app) == 0


def test_every_json_body_refuses_nul_and_surrogates(app: TestClient) -> None:
    login = app.post(
        "/v1/auth/login",
        content=b'{"username": "al\\u0000ice", "password": "whatever-it-is"}',
        headers={"Content-Type": "application/json"},
    )
    assert login.status_code == 422
    assert "username" in reason(login)
    sign_in(app)
    handoff = "0" * 32
    for path, body in (
        (f"/v1/handoffs/{handoff}/reply", b'{"text": "\\ud83d alone"}'),
        (f"/v1/handoffs/{handoff}/escalate", b'{"note": "\\u0000"}'),
    ):
        response = app.post(path, content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 422, path


def test_a_nul_in_the_query_path_or_a_form_is_refused(app: TestClient) -> None:
    conversation = started(app)
    url = f"/v1/conversations/{conversation['conversation_id']}"
    token = {"X-Conversation-Token": conversation["conversation_token"]}
    assert app.get(f"{url}?decided=%00", headers=token).status_code == 400
    assert app.get("/inbox/handoffs/%00").status_code == 400
    form = app.get("/inbox/login").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    login = app.post(
        "/inbox/login",
        content=f"username=al%00ice&password=x&csrf_token={csrf}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert login.status_code == 400
    assert "NUL" in login.json()["detail"]


@pytest.mark.parametrize("token", [NON_ASCII, b"\xff" * 40, b"0" * 39 + b"\xe9"])
def test_a_token_that_is_not_ascii_is_refused_on_every_token_route(
    app: TestClient, token: bytes
) -> None:
    conversation = started(app)
    url = f"/v1/conversations/{conversation['conversation_id']}"
    headers = {"X-Conversation-Token": token}
    assert app.get(url, headers=headers).status_code == 403
    assert app.get(f"{url}/events", headers=headers).status_code == 403
    follow_up = {"text": "again"}
    assert app.post(f"{url}/messages", json=follow_up, headers=headers).status_code == 403
    in_body = {**follow_up, "conversation_id": conversation["conversation_id"]}
    assert app.post("/v1/messages", json=in_body, headers=headers).status_code == 403
    assert stored_messages(app) == 1


def test_a_csrf_field_that_is_not_ascii_is_refused(app: TestClient) -> None:
    add_user(app.app.state.services.store, "alice", STAFF_PASSWORD, "agent")
    app.get("/inbox/login")  # the session now expects a CSRF token
    for field in ("t%C3%B6k%E2%82%ACn", "%FF%FE"):  # UTF-8, and bytes that are not
        response = app.post(
            "/inbox/login",
            content=f"username=alice&password={quote_plus(STAFF_PASSWORD)}&csrf_token={field}".encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            follow_redirects=False,
        )
        assert response.status_code == 403, field
        assert "form expired" in response.text


def test_a_body_over_the_limit_is_refused_before_it_is_parsed(app: TestClient) -> None:
    big = json.dumps({"text": "x" * LIMIT}).encode()
    response = app.post("/v1/messages", content=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert f"larger than {LIMIT} bytes" in response.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"text": "'
        for _ in range(LIMIT // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    streamed = app.post(
        "/v1/messages", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413
    form = app.post(
        "/inbox/login",
        content=b"username=" + b"a" * LIMIT,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 413
    assert f"larger than {LIMIT} bytes" in form.json()["detail"]
    assert stored_messages(app) == 0
    assert app.post("/v1/messages", json={"text": "small"}).status_code == 202


def test_the_server_refuses_a_declared_huge_body_without_reading_it(
    data_dir: Path, tmp_path: Path
) -> None:
    """Over a real socket: the answer comes while the client has sent only the headers."""
    process = ServerProcess(
        {"FRONTDESK_DATA_DIR": str(data_dir), "FRONTDESK_SERVER__MAX_BODY_BYTES": str(LIMIT)},
        tmp_path / "server.log",
        command=("serve", "--no-worker"),
    )
    process.start()
    try:
        with socket.create_connection(("127.0.0.1", process.port), timeout=10) as connection:
            connection.sendall(
                b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000000000\r\n\r\n" + b'{"text": "'
            )
            answer = connection.recv(4096)
        assert answer.startswith(b"HTTP/1.1 413"), answer
    finally:
        process.stop()
    assert "Traceback" not in (tmp_path / "server.log").read_text()


def test_a_failure_of_ours_is_a_logged_500_with_the_customer_data_redacted(
    app: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken() -> None:
        raise RuntimeError("could not reach ana.customer@example.com")

    app.app.add_api_route("/v1/broken", broken)
    configure_logging("INFO")
    try:
        response = app.get("/v1/broken")
    finally:
        structlog.reset_defaults()
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error; it has been logged"}
    logged = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    [error] = [entry for entry in logged if entry["event"] == "http.unhandled_error"]
    assert (error["path"], error["level"]) == ("/v1/broken", "error")
    assert "RuntimeError" in error["error"]
    assert "in broken" in error["traceback"]
    assert "ana.customer@example.com" not in json.dumps(logged)

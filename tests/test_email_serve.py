"""`frontdesk serve` with `[email]`: the app's start runs the SMTP receiver and the outbox
sender, so a mail sent to it with swaks is answered by email through the relay, with nothing
driven by the test but the mail."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from email_peers import Relay, free_port, swaks
from frontdesk.channels.email.inbound import EmailInbox
from frontdesk.config import load_settings
from frontdesk.queue import open_queue
from frontdesk.runtime.services import Intake
from frontdesk.server import create_app
from frontdesk.store.database import create_store_engine
from frontdesk.store.email import EmailStore
from frontdesk.store.repository import Store
from server import ServerProcess
from test_email_channel import SUPPORT, plain, read_message_id


def test_serve_receives_answers_and_sends_by_email(data_dir: Path, relay: Relay) -> None:
    port = free_port()
    settings = load_settings(
        data_dir=data_dir,
        email={
            "address": SUPPORT,
            "smtp_listen": f"127.0.0.1:{port}",
            "relay_host": "127.0.0.1",
            "relay_port": relay.port,
            "relay_starttls": False,
            "send_poll_seconds": 0.05,
        },
    )
    raw = plain("where is my order?")
    with TestClient(create_app(settings)):
        assert "250 2.0.0 message" in swaks(port, raw, "customer@example.org")
        [reply] = relay.wait_for(1)
    assert reply["In-Reply-To"] == read_message_id(raw)
    assert reply["To"] == "customer@example.org"
    assert reply["Auto-Submitted"] == "auto-replied"


def test_email_settings_refuse_unknown_keys_and_bad_listen_addresses() -> None:
    from frontdesk.config import ConfigError

    with pytest.raises(ConfigError, match="email"):
        load_settings(email={"smtp_lisen": "127.0.0.1:2525"})
    with pytest.raises(ConfigError, match="host:port"):
        load_settings(email={"smtp_listen": "2525"})
    with pytest.raises(ConfigError, match="without"):
        load_settings(email={"address": "support+x@shop.example"})
    assert load_settings(email={"smtp_listen": "127.0.0.1:2525"}).email.listen == (
        "127.0.0.1",
        2525,
    )


@pytest.mark.slow
def test_serve_killed_mid_send_sends_again_with_the_same_message_id(
    data_dir: Path, tmp_path: Path, relay: Relay
) -> None:
    """`frontdesk serve` is SIGKILLed the moment the relay has its reply, before it can mark it
    sent; started again, it sends that reply once more with the same Message-ID (after the
    lease), and never a third time."""
    smtp_port = free_port()
    config = tmp_path / "frontdesk.toml"
    config.write_text(
        f"""
[email]
address = "{SUPPORT}"
smtp_listen = "127.0.0.1:{smtp_port}"
relay_host = "127.0.0.1"
relay_port = {relay.port}
relay_starttls = false
send_poll_seconds = 0.1
sending_lease_seconds = 1
"""
    )
    env = {"FRONTDESK_DATA_DIR": str(data_dir), "FRONTDESK_CONFIG": str(config)}
    server = ServerProcess(env, tmp_path / "server.log")
    server.start()
    try:
        relay.on_message = lambda _message: server.kill()
        raw = plain("where is my order?")
        assert "250 2.0.0 message" in swaks(smtp_port, raw, "customer@example.org")
        [first] = relay.wait_for(1)
        assert server.process is not None and server.process.returncode == -signal.SIGKILL
        relay.on_message = None
        server.start()
        _, again = relay.wait_for(2)
        assert again["Message-ID"] == first["Message-ID"]
        assert again["In-Reply-To"] == read_message_id(raw)
    finally:
        server.stop()
    store = EmailStore(create_store_engine(load_settings(data_dir=data_dir).store_url))
    [row] = store.outbox_rows()
    assert (row.status, row.attempts, row.message_id_header) == (
        "sent",
        2,
        first["Message-ID"],
    )
    store.engine.dispose()
    assert len(relay.received) == 2


def test_a_worker_process_sends_the_replies_it_writes(
    data_dir: Path, tmp_path: Path, relay: Relay
) -> None:
    """`frontdesk worker` (no API beside it) runs the outbox sender too."""
    env = {
        "FRONTDESK_DATA_DIR": str(data_dir),
        "FRONTDESK_EMAIL__ADDRESS": SUPPORT,
        "FRONTDESK_EMAIL__RELAY_HOST": "127.0.0.1",
        "FRONTDESK_EMAIL__RELAY_PORT": str(relay.port),
        "FRONTDESK_EMAIL__RELAY_STARTTLS": "false",
        "FRONTDESK_EMAIL__SEND_POLL_SECONDS": "0.1",
    }
    worker = ServerProcess(env, tmp_path / "worker.log", command=("worker",))
    worker.start(wait_ready=False)
    try:
        settings = load_settings(data_dir=data_dir)
        store = Store(create_store_engine(settings.store_url))
        queue = open_queue(settings)
        inbox = EmailInbox(EmailStore(store.engine), Intake(store, queue), settings.email, 4000)
        raw = plain("where is my order?")
        assert inbox.receive(raw, "customer@example.org").kind == "message"
        [reply] = relay.wait_for(1, timeout=120)
        assert reply["In-Reply-To"] == read_message_id(raw)
        queue.close()
        store.engine.dispose()
    finally:
        worker.stop()

"""A person answers an email conversation in the inbox, in Debian's Chromium, and the reply
arrives in the test's mailbox (the aiosmtpd relay) with the threading headers. frontdesk runs as
a real `frontdesk serve` child process; the customer's mail comes in by swaks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import STAFF_PASSWORD
from email_peers import Relay, free_port, swaks
from frontdesk.config import load_settings
from frontdesk.runtime.services import open_store
from frontdesk.store.staff import add_user
from server import ServerProcess
from test_browser import browser  # noqa: F401  (the Chromium fixture)
from test_email_channel import SUPPORT, plain, read_message_id
from test_inbox_browser import ROUTING, contexts, sign_in  # noqa: F401  (fixture, helper)

pytestmark = pytest.mark.browser


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def mail_server(
    data_dir: Path, tmp_path: Path, relay: Relay, smtp_port: int
) -> Iterator[ServerProcess]:
    config = tmp_path / "frontdesk.toml"
    config.write_text(
        ROUTING
        + f"""
[email]
address = "{SUPPORT}"
smtp_listen = "127.0.0.1:{smtp_port}"
relay_host = "127.0.0.1"
relay_port = {relay.port}
relay_starttls = false
send_poll_seconds = 0.1
"""
    )
    store = open_store(load_settings(data_dir=data_dir))
    add_user(store, "alice", STAFF_PASSWORD, "agent")
    store.engine.dispose()
    process = ServerProcess(
        {"FRONTDESK_DATA_DIR": str(data_dir), "FRONTDESK_CONFIG": str(config)},
        tmp_path / "server.log",
    )
    process.start()
    yield process
    process.stop()


def test_a_person_answers_an_email_in_the_inbox_and_it_arrives_threaded(
    contexts,  # noqa: F811
    mail_server: ServerProcess,
    smtp_port: int,
    relay: Relay,
) -> None:
    raw = plain(
        "My blender arrived with a cracked jar, what can you do?\n\n-- \nSam Lee\n",
        subject="Cracked jar",
        sender="sam@example.org",
    )
    assert "250 2.0.0 message" in swaks(smtp_port, raw, "sam@example.org")

    agent = contexts().new_page()
    sign_in(agent, mail_server, "alice")
    row = agent.locator("tr.handoff", has_text="cracked jar")
    expect(row).to_be_visible(timeout=15_000)
    row.get_by_role("button", name="Claim").click()
    expect(agent.locator(".thread")).to_contain_text("cracked jar")
    expect(agent.locator(".thread")).not_to_contain_text("Sam Lee")  # the signature is not read
    agent.get_by_role("textbox", name="Answer").fill(
        "Sorry about the jar! A replacement ships today."
    )
    agent.get_by_role("button", name="Send and resolve").click()
    expect(agent.locator("#queue-rows")).to_contain_text("Nothing waiting")

    [reply] = relay.wait_for(1)
    original = read_message_id(raw)
    assert reply["To"] == "sam@example.org"
    assert reply["From"] == SUPPORT
    assert reply["In-Reply-To"] == original
    assert reply["References"] == original
    assert str(reply["Subject"]).startswith("Re: Cracked jar [#")
    assert str(reply["Reply-To"]).startswith("support+")
    assert reply["Message-ID"] is not None
    assert reply["Auto-Submitted"] is None  # a person wrote it
    body = reply.get_body(("plain",))
    assert body is not None
    assert body.get_content().strip() == "Sorry about the jar! A replacement ships today."

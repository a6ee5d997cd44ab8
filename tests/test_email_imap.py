"""IMAP polling of an existing mailbox, against Debian's dovecot on loopback: each mail is
stored once, then flagged (or moved); a poller killed mid-poll loses nothing and stores nothing
twice."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from email_peers import Dovecot
from frontdesk.channels.email.channel import inbox_of
from frontdesk.channels.email.imap import TAKEN, ImapPoller
from frontdesk.channels.email.settings import EmailSettings
from frontdesk.config import Settings
from frontdesk.runtime.services import Services, build_services
from frontdesk.store.email import EmailStore
from frontdesk.store.tables import MessageRow
from test_email_channel import SUPPORT, plain

DATA = Path(__file__).parent / "data" / "email"


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    # Not in pytest's tmp_path: dovecot's own users must reach the folder, and pytest's base
    # folder is the test user's alone (mode 0700).
    folder = Path(tempfile.mkdtemp(prefix="frontdesk-dovecot-"))
    folder.chmod(0o755)
    server = Dovecot(folder)
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


def imap_settings(settings: Settings, dovecot: Dovecot, **overrides: object) -> Settings:
    options = EmailSettings(
        address=SUPPORT,
        imap_host="127.0.0.1",
        imap_port=dovecot.port,
        imap_security="none",
        imap_username=Dovecot.USER,
        **overrides,  # type: ignore[arg-type]
    )
    return settings.model_copy(update={"email": options})


@pytest.fixture
def polling(
    backend_settings: Settings, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Services]:
    monkeypatch.setenv("FRONTDESK_IMAP_PASSWORD", Dovecot.PASSWORD)
    services = build_services(imap_settings(backend_settings, dovecot))
    yield services
    services.close()


def poller_of(services: Services) -> ImapPoller:
    return ImapPoller(inbox_of(services), services.settings.email)


def message_count(services: Services) -> int:
    with services.store.session() as session:
        return int(session.scalar(select(func.count()).select_from(MessageRow)) or 0)


def test_mail_is_taken_once_then_flagged(polling: Services, dovecot: Dovecot) -> None:
    dovecot.append(
        plain("where is my order?"),
        (DATA / "out_of_office.eml").read_bytes(),
        (DATA / "broken_mime.eml").read_bytes(),
    )
    poller = poller_of(polling)
    assert poller.poll_once() == 3
    kinds = [mail.kind for mail in EmailStore(polling.store.engine).mails()]
    assert kinds == ["message", "automatic", "rejected"]
    assert message_count(polling) == 1
    assert all({TAKEN, "\\Seen"} <= flags for flags in dovecot.flags())
    assert poller.poll_once() == 0
    # The message goes on to the agents like any other.
    assert polling.worker("imap-test").run_once() == 1


def test_a_poller_stopped_between_storing_and_flagging_stores_nothing_twice(
    polling: Services, dovecot: Dovecot
) -> None:
    raw = plain("where is my order?")
    dovecot.append(raw)
    inbox_of(polling).receive(raw)  # what the stopped poller did before it could flag the mail
    assert dovecot.flags() == [set()]  # not flagged, not even seen
    assert poller_of(polling).poll_once() == 1
    assert message_count(polling) == 1
    assert TAKEN in dovecot.flags()[0]


def test_taken_mail_is_moved_when_configured(polling: Services, dovecot: Dovecot) -> None:
    with dovecot.client() as mailbox:
        mailbox.create("Taken")
    dovecot.append(plain("where is my order?"))
    options = polling.settings.email.model_copy(update={"imap_move_to": "Taken"})
    assert ImapPoller(inbox_of(polling), options).poll_once() == 1
    assert dovecot.flags() == []
    with dovecot.client() as mailbox:
        _, data = mailbox.select("Taken", readonly=True)
        assert data == [b"1"]


POLL_ONCE = """
from frontdesk.channels.email.imap import ImapPoller
from frontdesk.channels.email.inbound import EmailInbox
from frontdesk.config import load_settings
from frontdesk.queue import open_queue
from frontdesk.runtime.services import Intake
from frontdesk.store.database import create_store_engine
from frontdesk.store.email import EmailStore
from frontdesk.store.repository import Store

settings = load_settings()
store = Store(create_store_engine(settings.store_url))
intake = Intake(store, open_queue(settings))
inbox = EmailInbox(EmailStore(store.engine), intake, settings.email, 4000)
ImapPoller(inbox, settings.email).poll_once()
"""


@pytest.mark.slow
def test_sigkill_mid_poll_loses_nothing_and_stores_nothing_twice(
    polling: Services, dovecot: Dovecot
) -> None:
    """A poller process is killed with SIGKILL once it has stored some of the mailbox: the next
    poll takes the rest, and every mail is a message exactly once."""
    total = 150
    dovecot.append(
        *(plain(f"where is order #W{n:07d}?", subject=f"Order {n}") for n in range(total))
    )
    settings = polling.settings
    env = {
        **os.environ,
        "FRONTDESK_DATA_DIR": str(settings.data_dir),
        "FRONTDESK_STORE__URL": settings.store_url,
        "FRONTDESK_QUEUE__BACKEND": settings.queue.backend,
        "FRONTDESK_QUEUE__NAME": settings.queue.name,
        "FRONTDESK_QUEUE__REDIS_URL": settings.queue.redis_url,
        "FRONTDESK_EMAIL__ADDRESS": SUPPORT,
        "FRONTDESK_EMAIL__IMAP_HOST": "127.0.0.1",
        "FRONTDESK_EMAIL__IMAP_PORT": str(dovecot.port),
        "FRONTDESK_EMAIL__IMAP_SECURITY": "none",
        "FRONTDESK_EMAIL__IMAP_USERNAME": Dovecot.USER,
    }
    process = subprocess.Popen([sys.executable, "-c", POLL_ONCE], env=env)
    stored = 0
    while stored < 10 and process.poll() is None:  # wait for it to be well into the poll
        stored = message_count(polling)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    untaken = sum(TAKEN not in flags for flags in dovecot.flags())
    assert untaken > 0, "the poller finished before it was killed"
    poller_of(polling).poll_once()
    assert message_count(polling) == total
    texts = {m.text for m in EmailStore(polling.store.engine).mails()}
    assert len(texts) == total
    assert all(TAKEN in flags for flags in dovecot.flags())

"""Real mail peers on loopback for the email tests: an aiosmtpd relay that keeps what frontdesk
sends, and Debian's swaks as the SMTP client that sends crafted mail to frontdesk's receiver."""

from __future__ import annotations

import getpass
import grp
import imaplib
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from conftest import IN_CI


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Relay:
    """The relay frontdesk sends through: every mail it is handed, parsed, in order."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[EmailMessage] = []
        self.changed = threading.Condition()
        self.on_message: Callable[[EmailMessage], None] | None = None
        self.refused: set[str] = set()  # recipients answered 550, as a mailbox that is gone
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        assert isinstance(message, EmailMessage)
        if self.on_message is not None:  # before the mail counts as received: a test that
            self.on_message(message)  # waits for it sees what on_message did
        with self.changed:
            self.received.append(message)
            self.changed.notify_all()
        return "250 2.0.0 queued"

    def wait_for(self, count: int, timeout: float = 30) -> list[EmailMessage]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.received) >= count, timeout), (
                f"the relay got {len(self.received)} mails, not {count}"
            )
            return list(self.received)


def swaks_path() -> str:
    found = shutil.which("swaks")
    if found is None:
        message = "swaks is not installed (scripts/install-swaks installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def swaks(
    port: int,
    raw: bytes,
    envelope_from: str,
    to: str = "support@harbor.example",
    accepted: bool = True,
) -> str:
    """Send `raw` as it is with swaks; returns the dialogue, whose answer to the data must be
    a 250 when `accepted` (else a refusal)."""
    done = subprocess.run(
        [swaks_path(), "--server", f"127.0.0.1:{port}", "--from", envelope_from, "--to", to,
         "--data", "-", "--hide-informational", "--hide-send"],
        input=raw,
        capture_output=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    dialogue = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
    assert (done.returncode == 0) is accepted, dialogue
    return dialogue


class Dovecot:
    """Debian's dovecot-imapd on loopback with one mailbox, support@harbor.example, in a
    folder of the test's own (plain IMAP, password login)."""

    USER = "support@harbor.example"
    PASSWORD = "mailbox secret"

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
        if not Path(binary).exists():
            message = "dovecot is not installed (scripts/install-dovecot installs it)"
            if IN_CI:
                pytest.fail(message)
            pytest.skip(message)
        self.port = free_port()
        self.folder = folder
        for name in ("run", "state", "mail", "home"):
            (folder / name).mkdir(parents=True, exist_ok=True)
        (folder / "passwd").write_text(f"{self.USER}:{{PLAIN}}{self.PASSWORD}::::::\n")
        if os.geteuid() == 0:
            internal, login, mail_user, mail_group = "dovecot", "dovenull", "nobody", "nogroup"
            for name in ("mail", "home"):
                shutil.chown(folder / name, mail_user, mail_group)
        else:
            internal = login = mail_user = getpass.getuser()
            mail_group = grp.getgrgid(os.getgid()).gr_name
        (folder / "dovecot.conf").write_text(
            DOVECOT_CONFIG.format(
                folder=folder,
                port=self.port,
                internal=internal,
                login=login,
                uid=mail_user,
                gid=mail_group,
            )
        )
        self.process = subprocess.Popen(
            [binary, "-F", "-c", str(folder / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_until_listening()

    def _wait_until_listening(self) -> None:
        for _ in range(600):
            if self.process.poll() is not None:
                log = (self.folder / "dovecot.log").read_text(errors="replace")
                pytest.fail(f"dovecot exited: {log[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    if probe.recv(64).startswith(b"* OK"):
                        return
            except OSError:
                threading.Event().wait(0.05)  # not up yet: look again
        pytest.fail("dovecot did not start listening")

    def client(self) -> imaplib.IMAP4:
        mailbox = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        mailbox.login(self.USER, self.PASSWORD)
        return mailbox

    def append(self, *mails: bytes) -> None:
        with self.client() as mailbox:
            for raw in mails:
                mailbox.append("INBOX", None, None, raw)

    def flags(self) -> list[set[str]]:
        """The flags of every mail in INBOX, in order."""
        with self.client() as mailbox:
            mailbox.select("INBOX", readonly=True)
            _status, data = mailbox.uid("FETCH", "1:*", "(FLAGS)")
            flags = []
            for item in data:
                if isinstance(item, bytes) and b"FLAGS" in item:
                    inner = item.split(b"FLAGS (", 1)[1].split(b")", 1)[0]
                    flags.append({f.decode() for f in inner.split()} - {"\\Recent"})
            return flags

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


DOVECOT_CONFIG = """
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{folder}/mail/%n
default_internal_user = {internal}
default_login_user = {login}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={folder}/home/%n
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""

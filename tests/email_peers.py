"""Real mail peers on loopback for the email tests: an aiosmtpd relay that keeps what frontdesk
sends, and Debian's swaks as the SMTP client that sends crafted mail to frontdesk's receiver."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
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
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        assert isinstance(message, EmailMessage)
        with self.changed:
            self.received.append(message)
            self.changed.notify_all()
        if self.on_message is not None:
            self.on_message(message)
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

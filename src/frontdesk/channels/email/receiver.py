"""The SMTP receiver `frontdesk serve` runs with `[email] smtp_listen` (aiosmtpd): a mail is
answered 250 only once it is stored (EmailInbox.receive), so a failure answers 451 and the
sending server tries again later; nothing is lost between the two."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from frontdesk.channels.email.inbound import EmailInbox

log = structlog.get_logger(__name__)


class _Handler:
    def __init__(self, inbox: EmailInbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="surrogateescape")
        mail_from = envelope.mail_from
        recipients = [str(r).lower() for r in envelope.rcpt_tos]
        try:
            received = await asyncio.get_running_loop().run_in_executor(
                None, self.inbox.receive, raw, mail_from, recipients
            )
        except Exception:
            log.exception("email.receive_failed", size=len(raw))
            return "451 4.3.0 not stored, try again later"
        return f"250 2.0.0 {received.kind}"


class SmtpReceiver:
    def __init__(self, inbox: EmailInbox, host: str, port: int, max_bytes: int) -> None:
        self.controller = Controller(
            _Handler(inbox),
            hostname=host,
            port=port,
            data_size_limit=max_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
        )

    def start(self) -> SmtpReceiver:
        self.controller.start()
        log.info("email.receiving", host=self.controller.hostname, port=self.controller.port)
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> SmtpReceiver:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

"""Sending the outbox through the relay (smtplib; STARTTLS and AUTH by `[email]`).

Each email is claimed `sending` with its Message-ID fixed before it is handed to the relay,
then marked `sent`. A sender that dies between the relay's 250 and the mark leaves it
`sending`: once its lease (`sending_lease_seconds`) has passed, a sender hands it over again
with the same Message-ID. That is at-least-once delivery with a key the receiving side
deduplicates by (mail stores and clients drop a second copy of a Message-ID): an email is
never lost and never shown twice, though a relay may carry it twice after such a crash.

Automatic replies (Auto-Submitted: auto-replied) to one address are limited per hour
(`reply_limit_per_hour`): past the limit an email is `held`, so two auto-responders that do not
honour Auto-Submitted still cannot loop. A person's replies are never held."""

from __future__ import annotations

import html
import os
import smtplib
import ssl
import threading
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import structlog

from frontdesk.channels.email.settings import EmailSettings
from frontdesk.clock import utcnow
from frontdesk.config import ConfigError
from frontdesk.keys import rating_link
from frontdesk.store.email import Claimed, EmailStore
from frontdesk.store.email_replies import conversation_tag

log = structlog.get_logger(__name__)


def _permanent(exc: smtplib.SMTPException) -> bool:
    """A 5xx answer (or every recipient refused): trying again cannot help."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


def relay_password(options: EmailSettings) -> str | None:
    if options.relay_username is None:
        return None
    value = os.environ.get(options.relay_password_env)
    if not value:
        raise ConfigError(
            f"email.relay_password_env: the environment variable {options.relay_password_env} "
            "is not set. Fix: export it with the relay password."
        )
    return value


class OutboxSender:
    def __init__(
        self, store: EmailStore, options: EmailSettings, rating_key: str | None = None
    ) -> None:
        """With `rating_key` (the secret key) and `[email] public_url`, replies carry rating
        links."""
        if options.address is None or options.relay_host is None:
            raise ConfigError("email.relay_host and email.address: both are needed to send.")
        self.store = store
        self.options = options
        self.rating_key = rating_key
        self.address = options.address
        self.domain = options.address.rsplit("@", 1)[1]
        self.password = relay_password(options)
        self.stopping = threading.Event()

    def run(self) -> None:
        log.info("email.sender_started", relay=self.options.relay_host)
        while not self.stopping.is_set():
            try:
                sent = self.drain_once()
            except Exception:  # a store outage: back off, keep the sender alive
                log.exception("email.sender_error")
                sent = 0
            if not sent:
                self.stopping.wait(self.options.send_poll_seconds)

    def drain_once(self) -> int:
        """Send what is due now; returns how many emails were tried."""
        lease = timedelta(seconds=self.options.sending_lease_seconds)
        claimed = self.store.claim_emails(self.domain, lease)
        for email in claimed:
            self._send_one(email)
        return len(claimed)

    def _send_one(self, email: Claimed) -> None:
        if email.attempts > self.options.send_attempts:  # claimed again and again: senders died
            self.store.mark_email(email.id, "failed", "gave up: every attempt was interrupted")
            return
        if email.auto_submitted and self._over_limit(email.recipient):
            limit = self.options.reply_limit_per_hour
            self.store.mark_email(
                email.id, "held", f"reply limit: {limit} per hour to this address"
            )
            log.warning("email.held", outbox_id=email.id, recipient=email.recipient)
            return
        try:
            self._deliver(self.message_of(email))
        except smtplib.SMTPException as exc:
            if not _permanent(exc):
                self._retry_later(email, exc)
                return
            self.store.mark_email(email.id, "failed", f"refused by the relay: {exc}")
            return
        except OSError as exc:
            self._retry_later(email, exc)
            return
        self.store.mark_email(email.id, "sent")
        log.info("email.sent", outbox_id=email.id, message_id=email.message_id_header)

    def _retry_later(self, email: Claimed, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        if email.attempts >= self.options.send_attempts:
            self.store.mark_email(email.id, "failed", error)
        else:
            delay = timedelta(seconds=min(3600, 30 * 2 ** (email.attempts - 1)))
            self.store.mark_email(email.id, "pending", error, utcnow() + delay)
        log.warning("email.send_failed", outbox_id=email.id, error=error)

    def _over_limit(self, recipient: str) -> bool:
        since = utcnow() - timedelta(hours=1)
        return (
            self.store.automatic_sent_since(recipient, since) >= self.options.reply_limit_per_hour
        )

    def message_of(self, email: Claimed) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.address
        message["To"] = email.recipient
        message["Subject"] = email.subject
        message["Date"] = format_datetime(utcnow())
        message["Message-ID"] = email.message_id_header
        if email.conversation_id is not None:
            local = self.address.rsplit("@", 1)[0]
            tag = conversation_tag(email.conversation_id)
            message["Reply-To"] = f"{local}+{tag}@{self.domain}"
        if email.in_reply_to:
            message["In-Reply-To"] = email.in_reply_to
        if email.references:
            message["References"] = email.references
        if email.auto_submitted:
            message["Auto-Submitted"] = "auto-replied"  # RFC 3834: auto-responders stay quiet
        links = self._rating_links(email)
        text = email.body
        if links:
            text += "\n\nHow did we do? Rate this conversation, 1 (very bad) to 5 (very good):\n"
            text += "\n".join(f"{score}: {link}" for score, link in links)
        message.set_content(text)
        paragraphs = "".join(
            f"<p>{html.escape(part).replace(chr(10), '<br>')}</p>"
            for part in email.body.split("\n\n")
        )
        if links:
            choices = " ".join(
                f'<a href="{html.escape(link)}">{score}</a>' for score, link in links
            )
            paragraphs += (
                f"<p>How did we do? {choices} <small>(1 very bad, 5 very good)</small></p>"
            )
        message.add_alternative(f"<html><body>{paragraphs}</body></html>", subtype="html")
        return message

    def _rating_links(self, email: Claimed) -> list[tuple[int, str]]:
        public_url = self.options.public_url
        if email.purpose != "reply" or not (public_url and self.rating_key):
            return []
        if email.conversation_id is None:
            return []
        return [
            (score, rating_link(public_url, self.rating_key, email.conversation_id, score))
            for score in range(1, 6)
        ]

    def _deliver(self, message: EmailMessage) -> None:
        options = self.options
        assert options.relay_host is not None
        with smtplib.SMTP(
            options.relay_host, options.relay_port, timeout=options.relay_timeout_seconds
        ) as relay:
            relay.ehlo()
            if options.relay_starttls:
                relay.starttls(context=ssl.create_default_context())
                relay.ehlo()
            if options.relay_username is not None and self.password is not None:
                relay.login(options.relay_username, self.password)
            relay.send_message(message)

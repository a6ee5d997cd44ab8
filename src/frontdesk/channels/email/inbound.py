"""Taking a received mail: oversized or unreadable mail is stored with the reason, automatic
mail (auto-replies, bounces, lists) is recorded and never answered, a customer's mail joins
its conversation or starts one and goes through the same intake as a chat message. Each mail
is taken once by its Message-ID, so a delivery repeated after a lost answer changes nothing."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import structlog

from frontdesk.channels.email.parsing import (
    BrokenMail,
    ParsedEmail,
    address_of,
    mail_key,
    message_ids,
    parse_email,
    read_message,
)
from frontdesk.channels.email.safety import automatic
from frontdesk.channels.email.settings import EmailSettings
from frontdesk.store.email import EmailStore, Mail
from frontdesk.store.email_replies import TOKEN_LENGTH
from frontdesk.store.intake import Accepted

if TYPE_CHECKING:
    from frontdesk.runtime.services import Intake

log = structlog.get_logger(__name__)

SUBJECT_TOKEN = re.compile(rf"\[#([0-9a-f]{{{TOKEN_LENGTH}}})\]")
PLUS_TOKEN = re.compile(rf"^[^@+]+\+([0-9a-f]{{{TOKEN_LENGTH}}})@")


@dataclass(frozen=True)
class Received:
    kind: str  # message | automatic | bounce | rejected | duplicate
    reason: str | None = None
    message_id: str | None = None
    conversation_id: str | None = None


class EmailInbox:
    def __init__(
        self, store: EmailStore, intake: Intake, options: EmailSettings, max_chars: int
    ) -> None:
        self.store = store
        self.intake = intake
        self.options = options
        self.max_chars = max_chars

    def receive(
        self, raw: bytes, envelope_from: str | None = None, recipients: Iterable[str] = ()
    ) -> Received:
        """Store one mail durably (the caller acknowledges it only after this returns)."""
        mailbox = next(iter(recipients), None)
        if len(raw) > self.options.max_message_bytes:
            reason = f"oversized: {len(raw)} bytes, more than {self.options.max_message_bytes}"
            return self._reject(raw, reason, envelope_from, mailbox)
        try:
            mail = parse_email(raw, self.options.max_attachment_bytes)
        except BrokenMail as exc:
            return self._reject(raw, exc.reason, envelope_from, mailbox)
        if self.store.taken(mail.key):
            return Received("duplicate")
        auto = automatic(mail.message, envelope_from)
        if auto is not None:
            kind = "bounce" if auto.bounce else "automatic"
            record = self._mail(mail, kind, len(raw), envelope_from, mailbox, auto.reason)
            if auto.bounce:
                record = replace(record, bounced=tuple(auto.bounced_message_ids))
            self.store.record_mail(record)
            log.info("email.not_answered", kind=kind, reason=auto.reason, sender=mail.sender)
            return Received(kind, auto.reason)
        conversation_id = self.store.thread_of(
            mail.sender, [*mail.in_reply_to, *reversed(mail.references)], tokens(mail, recipients)
        )
        record = self._mail(mail, "message", len(raw), envelope_from, mailbox)

        def keep_headers(accepted: Accepted) -> None:
            message = accepted.message
            self.store.record_mail(record, message.id, message.conversation_id)

        accepted = self.intake.accept(
            self._text_for_agents(mail),
            "email",
            conversation_id,
            idempotency_key=f"email:{mail.key}",
            customer_ref=mail.sender,
            before_enqueue=keep_headers,
        )
        return Received("message", None, accepted.message.id, accepted.message.conversation_id)

    def _text_for_agents(self, mail: ParsedEmail) -> str:
        """The customer's new words, without quote or signature; attachments are named, never
        read. Cut to the longest message a chat may send."""
        text = mail.reply
        if not text:
            text = mail.subject or "(no text)"
        if mail.attachments:
            names = ", ".join(a.name for a in mail.attachments)
            text = f"{text}\n\n[attachments: {names}]"
        return text[: self.max_chars]

    def _mail(
        self,
        mail: ParsedEmail,
        kind: str,
        size: int,
        envelope_from: str | None,
        mailbox: str | None,
        reason: str | None = None,
    ) -> Mail:
        return Mail(
            key=mail.key,
            kind=kind,
            size=size,
            reason=reason,
            message_id_header=mail.message_id,
            in_reply_to=mail.in_reply_to[0] if mail.in_reply_to else None,
            references=tuple(mail.references),
            sender=mail.sender,
            envelope_from=envelope_from,
            mailbox=mailbox,
            subject=mail.subject,
            text=mail.text,
            attachments=tuple(
                (a.name, a.content_type, a.size, a.content) for a in mail.attachments
            ),
        )

    def _reject(
        self, raw: bytes, reason: str, envelope_from: str | None, mailbox: str | None
    ) -> Received:
        """Stored whole with the reason, for staff; nothing is answered."""
        headers = _headers_of(raw)
        message_id = headers.get("message_id")
        self.store.record_mail(
            Mail(
                key=mail_key(message_id, raw),
                kind="rejected",
                size=len(raw),
                reason=reason,
                message_id_header=message_id,
                sender=headers.get("sender"),
                envelope_from=envelope_from,
                mailbox=mailbox,
                subject=headers.get("subject"),
                raw=raw,
            )
        )
        log.warning("email.rejected", reason=reason, size=len(raw))
        return Received("rejected", reason)


def tokens(mail: ParsedEmail, recipients: Iterable[str]) -> list[str]:
    """Conversation tokens the mail carries: `[#0a1b2c3d]` in the subject, then a plus address
    (support+0a1b2c3d@…) among its recipients."""
    found = SUBJECT_TOKEN.findall(mail.subject)
    for address in [*recipients, *mail.recipients]:
        match = PLUS_TOKEN.match(address.lower())
        if match:
            found.append(match.group(1))
    return list(dict.fromkeys(found))


def _headers_of(raw: bytes) -> dict[str, str]:
    """What can be read of a mail that is not taken: its headers only, each best effort."""
    found: dict[str, str] = {}
    try:
        head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
        message = read_message(head[: 2**20])
        ids = message_ids(message.get("Message-ID"))
        if ids:
            found["message_id"] = ids[0]
        sender = address_of(message, "From")
        if sender:
            found["sender"] = sender
        found["subject"] = " ".join(str(message.get("Subject", "")).split())[:998]
    except Exception:  # nothing of it readable: it is stored whole all the same
        pass
    return found

"""The email channel's store: received mail by key (taken once), the conversation a reply
belongs to, and the outbox as the sender drains it (claim with a fixed Message-ID, then sent,
retried, held or failed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from frontdesk.clock import utcnow
from frontdesk.store.base import StoreBase, audit, changed_rows, new_id
from frontdesk.store.tables import (
    ConversationRow,
    EmailAttachmentRow,
    EmailMessageRow,
    OutboxRow,
)

SENDABLE = ("pending", "sending")


@dataclass(frozen=True)
class Mail:
    """A received mail as the channel records it."""

    key: str
    kind: str  # message | automatic | bounce | rejected
    size: int
    reason: str | None = None
    message_id_header: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    sender: str | None = None
    envelope_from: str | None = None
    mailbox: str | None = None
    subject: str | None = None
    text: str | None = None
    raw: bytes | None = None
    attachments: tuple[tuple[str, str, int, bytes | None], ...] = ()
    bounced: tuple[str, ...] = ()  # for a bounce: the Message-IDs of the emails it returns


@dataclass(frozen=True)
class Claimed:
    id: str
    recipient: str
    subject: str
    body: str
    message_id_header: str
    in_reply_to: str | None
    references: str | None
    auto_submitted: bool
    conversation_id: str | None
    attempts: int
    purpose: str = "reply"


class EmailStore(StoreBase):
    def taken(self, key: str) -> bool:
        with self.session() as session:
            return (
                session.scalar(select(EmailMessageRow.id).where(EmailMessageRow.key == key))
                is not None
            )

    def record_mail(
        self, mail: Mail, message_id: str | None = None, conversation_id: str | None = None
    ) -> bool:
        """Store a received mail once by its key; False when it was stored already."""
        try:
            with self.session() as session:
                if session.scalar(
                    select(EmailMessageRow.id).where(EmailMessageRow.key == mail.key)
                ):
                    return False
                row = EmailMessageRow(
                    id=new_id(),
                    key=mail.key[:250],
                    kind=mail.kind,
                    reason=mail.reason,
                    message_id=message_id,
                    conversation_id=conversation_id,
                    message_id_header=_cut(mail.message_id_header),
                    in_reply_to=_cut(mail.in_reply_to),
                    thread_references=" ".join(mail.references) or None,
                    sender=_cut(mail.sender, 254),
                    envelope_from=_cut(mail.envelope_from, 254),
                    mailbox=_cut(mail.mailbox, 254),
                    subject=mail.subject,
                    text=mail.text,
                    size=mail.size,
                    raw=mail.raw,
                    received_at=utcnow(),
                )
                session.add(row)
                session.flush()  # the attachments refer to it
                for name, content_type, size, content in mail.attachments:
                    session.add(
                        EmailAttachmentRow(
                            id=new_id(),
                            email_id=row.id,
                            name=name,
                            content_type=content_type[:127],
                            size=size,
                            content=content,
                        )
                    )
                session.add(audit("email", f"email.{mail.kind}", row.id, {"reason": mail.reason}))
                if mail.kind == "bounce":
                    _bounce_replies(session, mail)
        except IntegrityError:
            if self.taken(mail.key):
                return False  # a concurrent delivery of the same mail stored it
            raise
        return True

    def mails(self, kind: str | None = None) -> list[EmailMessageRow]:
        query = select(EmailMessageRow).order_by(EmailMessageRow.received_at, EmailMessageRow.id)
        if kind is not None:
            query = query.where(EmailMessageRow.kind == kind)
        with self.session() as session:
            return list(session.scalars(query))

    def attachments(self, email_id: str) -> list[EmailAttachmentRow]:
        with self.session() as session:
            return list(
                session.scalars(
                    select(EmailAttachmentRow).where(EmailAttachmentRow.email_id == email_id)
                )
            )

    def thread_of(self, sender: str, message_ids: list[str], tokens: list[str]) -> str | None:
        """The email conversation of `sender` this mail continues: one whose mail (received or
        sent) it names in In-Reply-To / References, else one whose token it carries (subject
        or plus address). Only the sender's own conversations: a stranger cannot join one."""
        with self.session() as session:
            own = select(ConversationRow.id).where(
                ConversationRow.channel == "email",
                func.lower(ConversationRow.customer_ref) == sender.lower(),
                ConversationRow.erased_at.is_(None),
            )
            if message_ids:
                ids = [m[:250] for m in message_ids]
                for column, source in (
                    (OutboxRow.conversation_id, OutboxRow.message_id_header),
                    (EmailMessageRow.conversation_id, EmailMessageRow.message_id_header),
                ):
                    found = session.scalar(
                        select(column).where(source.in_(ids), column.in_(own)).limit(1)
                    )
                    if found is not None:
                        return found
            for token in tokens:
                found = session.scalar(
                    own.where(ConversationRow.id.startswith(token, autoescape=True))
                    .order_by(ConversationRow.updated_at.desc())
                    .limit(1)
                )
                if found is not None:
                    return found
        return None

    # The outbox, as the sender drains it.

    def claim_emails(self, domain: str, lease: timedelta, limit: int = 20) -> list[Claimed]:
        """Emails due now, each marked `sending` until `lease` passes, with its Message-ID fixed
        first: a sender that dies after handing one to the relay leaves it `sending`, and the
        next sends it again with the same Message-ID (receivers drop the copy)."""
        now = utcnow()
        due = or_(OutboxRow.not_before.is_(None), OutboxRow.not_before <= now)
        claimed = []
        with self.session() as session:
            candidates = list(
                session.scalars(
                    select(OutboxRow)
                    .where(OutboxRow.status.in_(SENDABLE), due)
                    .order_by(OutboxRow.created_at, OutboxRow.id)
                    .limit(limit)
                )
            )
        for row in candidates:
            message_id = row.message_id_header or f"<{row.id}@{domain}>"
            with self.session() as session:
                won = changed_rows(
                    session,
                    update(OutboxRow)
                    .where(OutboxRow.id == row.id, OutboxRow.status == row.status, due)
                    .values(
                        status="sending",
                        attempts=OutboxRow.attempts + 1,
                        not_before=now + lease,
                        message_id_header=message_id,
                    ),
                )
            if won:
                claimed.append(
                    Claimed(
                        row.id,
                        row.recipient,
                        row.subject,
                        row.body,
                        message_id,
                        row.in_reply_to,
                        row.thread_references,
                        row.auto_submitted,
                        row.conversation_id,
                        row.attempts + 1,
                        row.purpose,
                    )
                )
        return claimed

    def automatic_sent_since(self, recipient: str, since: datetime) -> int:
        with self.session() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(OutboxRow)
                    .where(
                        func.lower(OutboxRow.recipient) == recipient.lower(),
                        OutboxRow.auto_submitted.is_(True),
                        OutboxRow.status == "sent",
                        OutboxRow.sent_at >= since,
                    )
                )
                or 0
            )

    def mark_email(
        self,
        outbox_id: str,
        status: str,
        error: str | None = None,
        not_before: datetime | None = None,
    ) -> None:
        """`sent`, `pending` again (a retry after `not_before`), `held` or `failed`."""
        now = utcnow()
        values: dict[str, object] = {"status": status, "not_before": not_before}
        if status == "sent":
            values["sent_at"] = now
        if error is not None:
            values["last_error"] = error[:2000]
        with self.session() as session:
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == outbox_id, OutboxRow.status == "sending")
                .values(**values)
            )
            session.add(audit("email", f"email.{status}", outbox_id, {"error": error}))

    def outbox_rows(self, recipient: str | None = None) -> list[OutboxRow]:
        query = select(OutboxRow).order_by(OutboxRow.created_at, OutboxRow.id)
        if recipient is not None:
            query = query.where(OutboxRow.recipient == recipient)
        with self.session() as session:
            return list(session.scalars(query))


def _bounce_replies(session: Session, mail: Mail) -> None:
    """A bounce is recorded against the emails it returns: `bounced`, with the bounce's text."""
    ids = [m[:250] for m in mail.bounced if m]
    if not ids:
        return
    session.execute(
        update(OutboxRow)
        .where(OutboxRow.message_id_header.in_(ids))
        .values(status="bounced", last_error=f"bounced: {(mail.text or '')[:1000]}")
    )


def _cut(value: str | None, length: int = 250) -> str | None:
    return None if value is None else value[:length]

"""What the inbox shows of an email conversation beside its thread: each mail received, with the
quoted history the agents did not read (collapsed on the page) and its attachments, listed for
staff only (never read by an agent, nor offered for download from here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from frontdesk.store.repository import Store
from frontdesk.store.tables import EmailAttachmentRow, EmailMessageRow


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    size: int
    kept: bool  # False: larger than [email] max_attachment_bytes, only listed


@dataclass(frozen=True)
class ReceivedMail:
    received_at: datetime
    subject: str | None
    text: str | None  # the whole text, quoted history included
    attachments: list[Attachment]


def received_mail(store: Store, conversation_id: str) -> list[ReceivedMail]:
    """The mail of an email conversation, oldest first."""
    with store.session() as session:
        rows = session.scalars(
            select(EmailMessageRow)
            .where(EmailMessageRow.conversation_id == conversation_id)
            .order_by(EmailMessageRow.received_at, EmailMessageRow.id)
        ).all()
        attached: dict[str, list[Attachment]] = {}
        for row in session.scalars(
            select(EmailAttachmentRow).where(EmailAttachmentRow.email_id.in_([r.id for r in rows]))
        ):
            attached.setdefault(row.email_id, []).append(
                Attachment(row.name, row.content_type, row.size, row.content is not None)
            )
    return [
        ReceivedMail(row.received_at, row.subject, row.text, attached.get(row.id, []))
        for row in rows
    ]

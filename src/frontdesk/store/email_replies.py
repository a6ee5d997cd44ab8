"""A reply to an email conversation is queued as an email in the transaction that stores the
reply (store/base.py add_reply), so a stored reply is never left unsent and never queued twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontdesk.store.tables import (
    AuditRow,
    ConversationRow,
    DialogueStateRow,
    EmailMessageRow,
    OutboxRow,
    ReplyRow,
)

TOKEN_LENGTH = 8


def conversation_tag(conversation_id: str) -> str:
    """The token replies carry in their subject, `[#0a1b2c3d]`, and in their Reply-To."""
    return conversation_id[:TOKEN_LENGTH]


def reply_subject(subject: str | None, conversation_id: str) -> str:
    subject = " ".join((subject or "").split()) or "Your message"
    if not subject.lower().startswith(("re:", "aw:", "sv:")):
        subject = f"Re: {subject}"
    tag = f"[#{conversation_tag(conversation_id)}]"
    if tag not in subject:
        subject = f"{subject[: 199 - len(tag)]} {tag}"
    return subject[:200]


def queue_reply_email(session: Session, reply: ReplyRow, bot: bool, now: datetime) -> None:
    """Queue `reply` as an email when its conversation came by email; nothing otherwise."""
    conversation = session.get(ConversationRow, reply.conversation_id)
    if conversation is None or conversation.channel != "email" or not conversation.customer_ref:
        return
    if conversation.erased_at is not None:
        return
    answered = _answered_mail(session, reply)
    references = []
    if answered is not None:
        references = (answered.thread_references or "").split()
        if answered.message_id_header:
            references.append(answered.message_id_header)
    session.add(
        OutboxRow(
            id=reply.id,
            channel="email",
            recipient=_recipient(session, conversation),
            subject=reply_subject(answered.subject if answered else None, conversation.id),
            body=reply.text,
            created_at=now,
            idempotency_key=f"reply:{reply.id}",
            conversation_id=conversation.id,
            purpose="reply",
            status="pending",
            attempts=0,
            in_reply_to=answered.message_id_header if answered else None,
            thread_references=" ".join(references[-20:]) or None,
            auto_submitted=bot,
        )
    )
    session.add(
        AuditRow(
            at=now,
            actor=reply.author,
            action="email.queued",
            subject_id=reply.id,
            data={"conversation_id": conversation.id},
        )
    )


def _recipient(session: Session, conversation: ConversationRow) -> str:
    """The address on the account once the real-time agent identified one, else the writer's:
    a From header is easy to forge, so whatever the conversation learns of an account goes only
    to that account's own address (the dialogue memory of this turn is saved before its reply)."""
    memory = session.get(DialogueStateRow, conversation.id)
    tools = (memory.data if memory is not None else {}).get("tools") or {}
    account = tools.get("account_email") if tools.get("user_id") else None
    return str(account or conversation.customer_ref)


def _answered_mail(session: Session, reply: ReplyRow) -> EmailMessageRow | None:
    """The mail the reply answers: the one of its message, else the conversation's latest."""
    query = select(EmailMessageRow).where(EmailMessageRow.kind == "message")
    mail = session.scalar(query.where(EmailMessageRow.message_id == reply.message_id))
    if mail is None:
        mail = session.scalar(
            query.where(EmailMessageRow.conversation_id == reply.conversation_id)
            .order_by(EmailMessageRow.received_at.desc())
            .limit(1)
        )
    return mail

"""Customers' data rights (docs/security.md#customers-data-rights): which conversations are a
customer's, and erasing them, on request or past the retention period.

Erasing keeps what the service needs to account for its decisions and nothing the customer
wrote or was told: the message, decision and handoff rows stay (intent, confidence, tier, the
rules that fired, times, handle time), with every text, tool argument and tool result, the
handoff packet's transcript, draft and case, the replies, the dialogue memory, the outbox's
emails and the received mail (its text, headers, raw bytes and attachments) removed. Each
erasure is audited with counts only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, cast, delete, func, or_, select, update
from sqlalchemy.orm import Session

from frontdesk.clock import utcnow
from frontdesk.store.base import StoreBase, audit
from frontdesk.store.tables import (
    AuditRow,
    ConversationRow,
    DecisionRow,
    DialogueStateRow,
    EmailAttachmentRow,
    EmailMessageRow,
    HandoffRow,
    MessageRow,
    OutboxRow,
    ReplyRow,
    ToolEffectRow,
)

ERASED = ""  # what an erased text reads as
KEPT_AUDIT_KEYS = frozenset({"message_id", "channel", "tier", "outcome", "sessions"})


@dataclass(frozen=True)
class Erasure:
    conversations: int
    messages: int
    replies: int
    handoffs: int
    emails: int  # queued to be sent
    mails: int  # received by the email channel


class DataRightsStore(StoreBase):
    def conversations_of(self, email: str, user_ids: Iterable[str] = ()) -> list[str]:
        """The conversations that are the customer's: written from `email` (the email channel's
        customer reference), naming it in a message, or identified as one of `user_ids`."""
        email = email.strip().lower()
        ids = [user_id for user_id in user_ids if user_id]
        with self.session() as session:
            found = set(
                session.scalars(
                    select(ConversationRow.id).where(
                        or_(
                            func.lower(ConversationRow.customer_ref) == email,
                            ConversationRow.id.in_(
                                select(MessageRow.conversation_id).where(
                                    func.lower(MessageRow.text).contains(email, autoescape=True)
                                )
                            ),
                            ConversationRow.id.in_(
                                select(OutboxRow.conversation_id).where(
                                    func.lower(OutboxRow.recipient) == email
                                )
                            ),
                        )
                    )
                )
            )
            for user_id in ids:
                # A JSON column reads as text on both engines; the match is checked in Python.
                states = session.execute(
                    select(DialogueStateRow.conversation_id, DialogueStateRow.data).where(
                        cast(DialogueStateRow.data, String).contains(user_id, autoescape=True)
                    )
                )
                found |= {
                    conversation_id
                    for conversation_id, data in states
                    if user_id in _identified(data)
                }
            return sorted(found)

    def expired_conversations(self, before: datetime) -> list[str]:
        """Conversations not erased yet whose last activity is older than `before`."""
        with self.session() as session:
            return list(
                session.scalars(
                    select(ConversationRow.id).where(
                        ConversationRow.updated_at < before, ConversationRow.erased_at.is_(None)
                    )
                )
            )

    def erase(self, conversation_ids: list[str], email: str | None, actor: str) -> Erasure:
        """Erase the conversations (and, with `email`, every email queued to it), in one
        transaction: all of it or nothing."""
        now = utcnow()
        with self.session() as session:
            counts = Erasure(
                conversations=len(conversation_ids),
                messages=_erase_messages(session, conversation_ids),
                replies=_erase_replies(session, conversation_ids),
                handoffs=_erase_handoffs(session, conversation_ids),
                emails=_erase_emails(session, conversation_ids, email),
                mails=_erase_mails(session, conversation_ids, email),
            )
            session.execute(
                delete(DialogueStateRow).where(
                    DialogueStateRow.conversation_id.in_(conversation_ids)
                )
            )
            session.execute(
                update(ConversationRow)
                .where(ConversationRow.id.in_(conversation_ids))
                .values(customer_ref=None, erased_at=now)
            )
            session.add(audit(actor, "customer.erased", "-", counts.__dict__))
        return counts


def _identified(data: dict[str, Any]) -> set[str]:
    tools = data.get("tools") or {}
    verifying = tools.get("verifying") or {}
    return {user_id for user_id in (tools.get("user_id"), verifying.get("user_id")) if user_id}


def _erase_messages(session: Session, conversation_ids: list[str]) -> int:
    decisions = session.scalars(
        select(DecisionRow).where(DecisionRow.conversation_id.in_(conversation_ids))
    ).all()
    effects: list[str] = []
    for decision in decisions:
        effects += [
            call.get("idempotency_key", "") for call in decision.detail.get("tool_calls", [])
        ]
        decision.detail = _scrubbed_decision(decision.detail)
        decision.rules = [dict(hit, inputs={}) for hit in decision.rules]
    if effects:
        session.execute(delete(ToolEffectRow).where(ToolEffectRow.idempotency_key.in_(effects)))
    message_ids = list(
        session.scalars(
            select(MessageRow.id).where(MessageRow.conversation_id.in_(conversation_ids))
        )
    )
    session.execute(
        update(MessageRow)
        .where(MessageRow.id.in_(message_ids))
        .values(text=ERASED, idempotency_key=None)
    )
    _scrub_audit(session, message_ids)
    return len(message_ids)


def _erase_replies(session: Session, conversation_ids: list[str]) -> int:
    reply_ids = list(
        session.scalars(select(ReplyRow.id).where(ReplyRow.conversation_id.in_(conversation_ids)))
    )
    _scrub_audit(session, reply_ids)
    session.execute(delete(ReplyRow).where(ReplyRow.id.in_(reply_ids)))
    return len(reply_ids)


def _erase_handoffs(session: Session, conversation_ids: list[str]) -> int:
    handoffs = session.scalars(
        select(HandoffRow).where(HandoffRow.conversation_id.in_(conversation_ids))
    ).all()
    for handoff in handoffs:
        handoff.packet = _scrubbed_packet(handoff.packet)
        if handoff.status == "open":  # nothing left for a person to answer
            handoff.status, handoff.resolved_at, handoff.resolved_by = "resolved", utcnow(), None
    _scrub_audit(session, [handoff.id for handoff in handoffs])
    return len(handoffs)


def _erase_emails(session: Session, conversation_ids: list[str], email: str | None) -> int:
    queued: ColumnElement[bool] = OutboxRow.conversation_id.in_(conversation_ids)
    if email is not None:
        queued = or_(queued, func.lower(OutboxRow.recipient) == email.strip().lower())
    ids = list(session.scalars(select(OutboxRow.id).where(queued)))
    session.execute(delete(OutboxRow).where(OutboxRow.id.in_(ids)))
    return len(ids)


def _erase_mails(session: Session, conversation_ids: list[str], email: str | None) -> int:
    """Mail received in the conversations (and, with `email`, any from that address, such as
    rejected mail that joined none): attachments deleted, everything read from the mail emptied;
    the key stays, so a mail delivered again is still known and not taken a second time."""
    received: ColumnElement[bool] = EmailMessageRow.conversation_id.in_(conversation_ids)
    if email is not None:
        received = or_(received, func.lower(EmailMessageRow.sender) == email.strip().lower())
    ids = list(session.scalars(select(EmailMessageRow.id).where(received)))
    session.execute(delete(EmailAttachmentRow).where(EmailAttachmentRow.email_id.in_(ids)))
    session.execute(
        update(EmailMessageRow)
        .where(EmailMessageRow.id.in_(ids))
        .values(
            sender=None,
            envelope_from=None,
            mailbox=None,
            subject=None,
            text=None,
            raw=None,
            reason=None,
            message_id_header=None,
            in_reply_to=None,
            thread_references=None,
        )
    )
    return len(ids)


def _scrub_audit(session: Session, subject_ids: list[str]) -> None:
    for row in session.scalars(select(AuditRow).where(AuditRow.subject_id.in_(subject_ids))):
        row.data = {key: value for key, value in row.data.items() if key in KEPT_AUDIT_KEYS}


def _scrubbed_decision(detail: dict[str, Any]) -> dict[str, Any]:
    draft = dict(detail["draft"], text=ERASED, sources=[])
    return {
        **detail,
        "draft": draft,
        "decision": _scrubbed_routing(detail["decision"]),
        "tool_calls": [dict(call, arguments={}) for call in detail.get("tool_calls", [])],
        "tool_results": [
            dict(result, output={}, error=None) for result in detail.get("tool_results", [])
        ],
    }


def _scrubbed_routing(decision: dict[str, Any]) -> dict[str, Any]:
    return dict(decision, rules=[dict(hit, inputs={}) for hit in decision.get("rules", [])])


def _scrubbed_packet(packet: dict[str, Any]) -> dict[str, Any]:
    kept = ("conversation_id", "message_id", "tier", "intent", "sla_deadline")
    scrubbed = {key: packet[key] for key in kept if key in packet}
    return {
        **scrubbed,
        "transcript": [],
        "draft": None,
        "decision": _scrubbed_routing(packet["decision"]),
    }

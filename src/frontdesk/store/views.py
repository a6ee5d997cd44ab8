"""Reading a conversation whole: for the customer's view, the inbox and the audit."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frontdesk.contracts import ConversationView, TranscriptEntry
from frontdesk.store import rows
from frontdesk.store.base import BOT_AUTHOR, StoreBase
from frontdesk.store.errors import UnknownConversation
from frontdesk.store.tables import ConversationRow, DecisionRow, HandoffRow, MessageRow, ReplyRow


class ViewsStore(StoreBase):
    def conversation(self, conversation_id: str) -> ConversationView:
        with self.session() as session:
            conversation = session.get(ConversationRow, conversation_id)
            if conversation is None:
                raise UnknownConversation(conversation_id)
            by_conversation = {"conversation_id": conversation_id}
            messages = session.scalars(
                select(MessageRow).filter_by(**by_conversation).order_by(MessageRow.received_at)
            )
            decisions = session.scalars(
                select(DecisionRow).filter_by(**by_conversation).order_by(DecisionRow.created_at)
            )
            replies = session.scalars(
                select(ReplyRow).filter_by(**by_conversation).order_by(ReplyRow.created_at)
            )
            handoffs = session.scalars(
                select(HandoffRow).filter_by(**by_conversation).order_by(HandoffRow.created_at)
            )
            return ConversationView(
                id=conversation.id,
                channel=conversation.channel,
                customer_ref=conversation.customer_ref,
                status=conversation.status,
                created_at=conversation.created_at,
                messages=[rows.message_view(row) for row in messages],
                decisions=[rows.decision(row) for row in decisions],
                replies=[rows.reply(row) for row in replies],
                handoffs=[rows.handoff(row) for row in handoffs],
            )

    def transcript(self, conversation_id: str) -> list[TranscriptEntry]:
        with self.session() as session:
            return _transcript(session, conversation_id)

    def count_messages(self) -> dict[str, int]:
        with self.session() as session:
            counted = session.execute(
                select(MessageRow.state, func.count()).group_by(MessageRow.state)
            ).all()
            return {state: count for state, count in counted}


def _transcript(session: Session, conversation_id: str) -> list[TranscriptEntry]:
    entries = [
        TranscriptEntry(role="customer", text=row.text, at=row.received_at)
        for row in session.scalars(select(MessageRow).filter_by(conversation_id=conversation_id))
    ]
    for row in session.scalars(select(ReplyRow).filter_by(conversation_id=conversation_id)):
        role = "bot" if row.author == BOT_AUTHOR else "agent"
        entries.append(
            TranscriptEntry(role=role, text=row.text, at=row.created_at, author=row.author)
        )
    return sorted(entries, key=lambda entry: entry.at)

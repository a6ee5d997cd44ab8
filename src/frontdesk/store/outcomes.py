"""What workers read to process a message and how its outcome is stored: the decision with its
reply or handoff, in one transaction, at most once per message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from frontdesk.clock import utcnow
from frontdesk.contracts import (
    DialogueUpdate,
    HandoffPacket,
    InboundMessage,
    IntentTurn,
    LlmCall,
    TurnOutcome,
)
from frontdesk.store import rows
from frontdesk.store.base import (
    BOT_AUTHOR,
    StoreBase,
    add_reply,
    audit,
    changed_rows,
    new_id,
)
from frontdesk.store.errors import StaleDialogue
from frontdesk.store.tables import (
    ConversationRow,
    DecisionRow,
    DialogueStateRow,
    HandoffRow,
    KnowledgeChunkRow,
    LlmCallRow,
    MessageRow,
)


class OutcomesStore(StoreBase):
    def load_messages(self, message_ids: list[str]) -> dict[str, tuple[InboundMessage, str]]:
        """Inbound messages still to process, with their state, keyed by id."""
        with self.session() as session:
            found = session.execute(
                select(MessageRow, ConversationRow.customer_ref)
                .join(ConversationRow, ConversationRow.id == MessageRow.conversation_id)
                .where(MessageRow.id.in_(message_ids))
            ).all()
            return {row.id: (rows.inbound(row, ref), row.state) for row, ref in found}

    def dialogue_states(self, conversation_ids: set[str]) -> dict[str, tuple[int, dict[str, Any]]]:
        """The real-time agent's memory per conversation, with its version."""
        with self.session() as session:
            found = session.scalars(
                select(DialogueStateRow).where(
                    DialogueStateRow.conversation_id.in_(conversation_ids)
                )
            )
            return {row.conversation_id: (row.version, row.data) for row in found}

    def earlier_confidences(self, conversation_id: str, limit: int = 10) -> list[float]:
        """Routing confidences of the conversation's decided turns, oldest first."""
        with self.session() as session:
            found = session.scalars(
                select(DecisionRow.detail["decision"]["confidence"].as_float())
                .where(DecisionRow.conversation_id == conversation_id)
                .order_by(DecisionRow.created_at.desc())
                .limit(limit)
            ).all()
            return list(reversed(found))

    def intent_history(self, conversation_id: str) -> list[IntentTurn]:
        """The intent agent's reading of each earlier message, oldest first."""
        with self.session() as session:
            found = session.execute(
                select(DecisionRow, MessageRow.text)
                .join(MessageRow, MessageRow.id == DecisionRow.message_id)
                .where(DecisionRow.conversation_id == conversation_id)
                .order_by(DecisionRow.created_at)
            ).all()
            return [
                IntentTurn(
                    message_id=row.message_id,
                    text=text_,
                    label=row.intent,
                    confidence=row.confidence,
                )
                for row, text_ in found
            ]

    def record_outcomes(self, outcomes: list[TurnOutcome]) -> list[bool]:
        """Store each decision with its reply or handoff, all in one transaction.

        An outcome whose message was processed already is skipped (False): a redelivered message
        is never answered twice. Should a concurrent worker win a race mid-batch, the batch is
        stored again one outcome at a time.
        """
        try:
            with self.session() as session:
                return [_record(session, outcome, utcnow()) for outcome in outcomes]
        except IntegrityError:
            return [self._record_alone(outcome) for outcome in outcomes]

    def _record_alone(self, outcome: TurnOutcome) -> bool:
        try:
            with self.session() as session:
                return _record(session, outcome, utcnow())
        except IntegrityError:
            return False

    def record_llm_call(self, call: LlmCall) -> None:
        with self.session() as session:
            session.add(LlmCallRow(**call.model_dump()))

    def chunk_texts(self, chunk_ids: list[str]) -> dict[str, str]:
        """The text of knowledge-base passages a draft cites, for checking it against them."""
        if not chunk_ids:
            return {}
        with self.session() as session:
            found = session.execute(
                select(KnowledgeChunkRow.id, KnowledgeChunkRow.text).where(
                    KnowledgeChunkRow.id.in_(chunk_ids)
                )
            ).all()
            return {chunk_id: body for chunk_id, body in found}


def _record(session: Session, outcome: TurnOutcome, now: datetime) -> bool:
    message = outcome.message
    claimed = changed_rows(
        session,
        update(MessageRow)
        .where(MessageRow.id == message.id, MessageRow.state != "processed")
        .values(state="processed", processed_at=now),
    )
    if claimed == 0:
        return False
    session.add(_decision_row(outcome, now))
    if outcome.dialogue is not None:
        _save_dialogue(session, message.conversation_id, outcome.dialogue, now)
    if outcome.handoff is not None:
        _open_handoff(session, outcome.handoff, now)
    else:
        assert outcome.reply_text is not None, "an automatic decision carries a reply"
        add_reply(
            session,
            message.conversation_id,
            message.id,
            BOT_AUTHOR,
            outcome.reply_text,
            outcome.draft.sources,
            now,
        )
    return True


def _open_handoff(session: Session, packet: HandoffPacket, now: datetime) -> None:
    handoff = HandoffRow(
        id=new_id(),
        conversation_id=packet.conversation_id,
        message_id=packet.message_id,
        tier=packet.tier,
        status="open",
        packet=packet.model_dump(mode="json"),
        created_at=now,
    )
    session.add(handoff)
    session.execute(
        update(ConversationRow)
        .where(ConversationRow.id == packet.conversation_id)
        .values(status="waiting_for_person", updated_at=now)
    )
    session.add(audit("coordinator", "handoff.opened", handoff.id, {"tier": packet.tier}))


def _save_dialogue(
    session: Session, conversation_id: str, change: DialogueUpdate, now: datetime
) -> None:
    row = session.get(DialogueStateRow, conversation_id, with_for_update=True)
    current = 0 if row is None else row.version
    if current != change.expected_version:
        raise StaleDialogue(conversation_id)
    if row is None:
        session.add(
            DialogueStateRow(
                conversation_id=conversation_id, version=1, data=change.state, updated_at=now
            )
        )
    else:
        row.version, row.data, row.updated_at = current + 1, change.state, now


def _decision_row(outcome: TurnOutcome, now: datetime) -> DecisionRow:
    return DecisionRow(
        id=new_id(),
        message_id=outcome.message.id,
        conversation_id=outcome.message.conversation_id,
        intent=outcome.intent.label,
        confidence=outcome.intent.confidence,
        model_version=outcome.intent.model_version,
        tier=outcome.decision.tier,
        rules=[rule.model_dump() for rule in outcome.decision.rules],
        detail={
            "intent": outcome.intent.model_dump(mode="json"),
            "draft": outcome.draft.model_dump(mode="json"),
            "decision": outcome.decision.model_dump(mode="json"),
            "tool_calls": [call.model_dump(mode="json") for call in outcome.tool_calls],
            "tool_results": [result.model_dump(mode="json") for result in outcome.tool_results],
        },
        latency_ms=outcome.latency_ms,
        created_at=now,
    )

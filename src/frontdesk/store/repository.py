"""All reads and writes of conversations, messages, decisions, replies, handoffs and audit records.

One implementation serves SQLite and PostgreSQL: SQLAlchemy is the seam between the two engines.
Every write that must happen together happens in one transaction.
"""

from __future__ import annotations

import difflib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from frontdesk.clock import utcnow
from frontdesk.contracts import (
    Channel,
    ConversationView,
    DecisionRecord,
    DialogueUpdate,
    DraftReply,
    Handoff,
    HandoffPacket,
    InboundMessage,
    IntentPrediction,
    IntentTurn,
    LlmCall,
    MessageView,
    OutboundReply,
    Outcome,
    RoutingDecision,
    Source,
    ToolCall,
    ToolResult,
    TranscriptEntry,
    TurnOutcome,
)
from frontdesk.store.tables import (
    AuditRow,
    ConversationRow,
    DecisionRow,
    DialogueStateRow,
    HandoffRow,
    KnowledgeChunkRow,
    LlmCallRow,
    MessageRow,
    ReplyRow,
)

BOT_AUTHOR = "bot"
EDITED_SIMILARITY = 0.6


class UnknownConversation(LookupError):
    pass


class UnknownHandoff(LookupError):
    pass


class IdempotencyConflict(Exception):
    """An Idempotency-Key was reused for a different message."""


class HandoffClosed(Exception):
    pass


class AlreadySpecialist(Exception):
    pass


class ClaimedByOther(Exception):
    """Someone else is working this handoff; the message names them."""


def infer_outcome(draft: str, sent: str) -> Outcome:
    """How much of the bot's draft the person kept."""
    if sent.strip() == draft.strip():
        return "sent_as_drafted"
    similar = difflib.SequenceMatcher(None, draft, sent).ratio()
    return "edited" if similar >= EDITED_SIMILARITY else "rewritten"


class StaleDialogue(Exception):
    """Another worker moved the conversation on meanwhile; the message must be processed again."""


@dataclass(frozen=True)
class Accepted:
    message: InboundMessage
    created: bool
    needs_enqueue: bool


def new_id() -> str:
    return uuid.uuid4().hex


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    # intake

    def accept_message(
        self,
        text_: str,
        channel: Channel,
        conversation_id: str | None = None,
        idempotency_key: str | None = None,
        customer_ref: str | None = None,
    ) -> Accepted:
        """Store a customer message (state `accepted`); a reused idempotency key gives the first."""
        try:
            with self.session() as session:
                if idempotency_key is not None:
                    earlier = session.scalar(
                        select(MessageRow).where(MessageRow.idempotency_key == idempotency_key)
                    )
                    if earlier is not None:
                        return self._same_request(earlier, text_, conversation_id)
                now = utcnow()
                if conversation_id is None:
                    conversation_id = new_id()
                    session.add(
                        ConversationRow(
                            id=conversation_id,
                            channel=channel,
                            customer_ref=customer_ref,
                            status="open",
                            created_at=now,
                            updated_at=now,
                        )
                    )
                else:
                    conversation = session.get(ConversationRow, conversation_id)
                    if conversation is None:
                        raise UnknownConversation(conversation_id)
                    conversation.updated_at = now
                row = MessageRow(
                    id=new_id(),
                    conversation_id=conversation_id,
                    channel=channel,
                    text=text_,
                    idempotency_key=idempotency_key,
                    state="accepted",
                    received_at=now,
                )
                session.add(row)
                session.add(_audit("customer", "message.accepted", row.id, {"channel": channel}))
                return Accepted(_inbound(row, customer_ref), created=True, needs_enqueue=True)
        except IntegrityError:
            # A concurrent request with the same key won the race: answer with its message.
            if idempotency_key is None:
                raise
            with self.session() as session:
                earlier = session.scalar(
                    select(MessageRow).where(MessageRow.idempotency_key == idempotency_key)
                )
                if earlier is None:
                    raise
                return self._same_request(earlier, text_, conversation_id)

    def _same_request(
        self, earlier: MessageRow, text_: str, conversation_id: str | None
    ) -> Accepted:
        if earlier.text != text_ or conversation_id not in (None, earlier.conversation_id):
            raise IdempotencyConflict(earlier.idempotency_key)
        needs_enqueue = earlier.state == "accepted"
        return Accepted(_inbound(earlier, None), created=False, needs_enqueue=needs_enqueue)

    def has_conversation(self, conversation_id: str) -> bool:
        with self.session() as session:
            return session.get(ConversationRow, conversation_id) is not None

    def mark_enqueued(self, message_ids: list[str]) -> None:
        with self.session() as session:
            session.execute(
                update(MessageRow)
                .where(MessageRow.id.in_(message_ids), MessageRow.state == "accepted")
                .values(state="enqueued", enqueued_at=utcnow())
            )

    def stranded_messages(self, older_than: timedelta, limit: int = 1000) -> list[str]:
        """Messages stored but never handed to the queue (the process died in between)."""
        cutoff = utcnow() - older_than
        with self.session() as session:
            return list(
                session.scalars(
                    select(MessageRow.id)
                    .where(MessageRow.state == "accepted", MessageRow.received_at < cutoff)
                    .order_by(MessageRow.received_at)
                    .limit(limit)
                )
            )

    def mark_dead(self, message_id: str, error: str) -> None:
        with self.session() as session:
            session.execute(
                update(MessageRow)
                .where(MessageRow.id == message_id, MessageRow.state != "processed")
                .values(state="dead")
            )
            session.add(_audit("worker", "message.dead_lettered", message_id, {"error": error}))

    # processing

    def load_messages(self, message_ids: list[str]) -> dict[str, tuple[InboundMessage, str]]:
        """Inbound messages still to process, with their state, keyed by id."""
        with self.session() as session:
            rows = session.execute(
                select(MessageRow, ConversationRow.customer_ref)
                .join(ConversationRow, ConversationRow.id == MessageRow.conversation_id)
                .where(MessageRow.id.in_(message_ids))
            ).all()
            return {row.id: (_inbound(row, ref), row.state) for row, ref in rows}

    def dialogue_states(self, conversation_ids: set[str]) -> dict[str, tuple[int, dict[str, Any]]]:
        """The real-time agent's memory per conversation, with its version."""
        with self.session() as session:
            rows = session.scalars(
                select(DialogueStateRow).where(
                    DialogueStateRow.conversation_id.in_(conversation_ids)
                )
            )
            return {row.conversation_id: (row.version, row.data) for row in rows}

    def earlier_confidences(self, conversation_id: str, limit: int = 10) -> list[float]:
        """Routing confidences of the conversation's decided turns, oldest first."""
        with self.session() as session:
            rows = session.scalars(
                select(DecisionRow.detail["decision"]["confidence"].as_float())
                .where(DecisionRow.conversation_id == conversation_id)
                .order_by(DecisionRow.created_at.desc())
                .limit(limit)
            ).all()
            return list(reversed(rows))

    def intent_history(self, conversation_id: str) -> list[IntentTurn]:
        """The intent agent's reading of each earlier message, oldest first."""
        with self.session() as session:
            rows = session.execute(
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
                for row, text_ in rows
            ]

    def transcript(self, conversation_id: str) -> list[TranscriptEntry]:
        with self.session() as session:
            return _transcript(session, conversation_id)

    def record_outcomes(self, outcomes: list[TurnOutcome]) -> list[bool]:
        """Store each decision with its reply or handoff, all in one transaction.

        An outcome whose message was processed already is skipped (False): a redelivered message
        is never answered twice. Should a concurrent worker win a race mid-batch, the batch is
        stored again one outcome at a time.
        """
        try:
            with self.session() as session:
                return [self._record(session, outcome, utcnow()) for outcome in outcomes]
        except IntegrityError:
            return [self._record_alone(outcome) for outcome in outcomes]

    def _record_alone(self, outcome: TurnOutcome) -> bool:
        try:
            with self.session() as session:
                return self._record(session, outcome, utcnow())
        except IntegrityError:
            return False

    def _record(self, session: Session, outcome: TurnOutcome, now: datetime) -> bool:
        message = outcome.message
        claimed = session.execute(
            update(MessageRow)
            .where(MessageRow.id == message.id, MessageRow.state != "processed")
            .values(state="processed", processed_at=now)
        ).rowcount
        if claimed == 0:
            return False
        session.add(_decision_row(outcome, now))
        if outcome.dialogue is not None:
            _save_dialogue(session, message.conversation_id, outcome.dialogue, now)
        if outcome.handoff is not None:
            self._open_handoff(session, outcome.handoff, now)
        else:
            assert outcome.reply_text is not None, "an automatic decision carries a reply"
            self._add_reply(
                session,
                message.conversation_id,
                message.id,
                BOT_AUTHOR,
                outcome.reply_text,
                outcome.draft.sources,
                now,
            )
        return True

    def _open_handoff(self, session: Session, packet: HandoffPacket, now: datetime) -> None:
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
        session.add(_audit("coordinator", "handoff.opened", handoff.id, {"tier": packet.tier}))

    def _add_reply(
        self,
        session: Session,
        conversation_id: str,
        message_id: str,
        author: str,
        text_: str,
        sources: list[Source],
        now: datetime,
    ) -> None:
        reply = ReplyRow(
            id=new_id(),
            conversation_id=conversation_id,
            message_id=message_id,
            author=author,
            text=text_,
            sources=[source.model_dump(mode="json") for source in sources],
            created_at=now,
        )
        session.add(reply)
        session.add(_audit(author, "reply.sent", reply.id, {"message_id": message_id}))

    # people

    def list_handoffs(self, tier: str | None = None, status: str = "open") -> list[Handoff]:
        with self.session() as session:
            query = select(HandoffRow).where(HandoffRow.status == status)
            if tier is not None:
                query = query.where(HandoffRow.tier == tier)
            return [_handoff(row) for row in session.scalars(query.order_by(HandoffRow.created_at))]

    def reply_to_handoff(
        self,
        handoff_id: str,
        agent: str,
        text_: str,
        outcome: Outcome | None = None,
        correct_intent: str | None = None,
    ) -> OutboundReply:
        """A person answers a handed-off message; this resolves the handoff with its outcome
        (inferred from the draft when not given) and the time it took."""
        now = utcnow()
        with self.session() as session:
            handoff = session.get(HandoffRow, handoff_id, with_for_update=True)
            if handoff is None:
                raise UnknownHandoff(handoff_id)
            if handoff.status != "open":
                raise HandoffClosed(handoff_id)
            if handoff.assignee not in (None, agent):
                raise ClaimedByOther(handoff.assignee)
            handoff.status = "resolved"
            handoff.resolved_at = now
            handoff.resolved_by = agent
            draft = (handoff.packet.get("draft") or {}).get("text", "")
            handoff.outcome = outcome or infer_outcome(draft, text_)
            handoff.correct_intent = correct_intent
            started = handoff.claimed_at or handoff.created_at
            handoff.handle_seconds = round((now - started).total_seconds(), 3)
            author = f"agent:{agent}" if outcome != "handed_back" else BOT_AUTHOR
            self._add_reply(
                session, handoff.conversation_id, handoff.message_id, author, text_, [], now
            )
            if not _has_open_handoff(session, handoff.conversation_id, except_id=handoff.id):
                session.execute(
                    update(ConversationRow)
                    .where(ConversationRow.id == handoff.conversation_id)
                    .values(status="open", updated_at=now)
                )
            session.add(
                _audit(
                    author,
                    "handoff.resolved",
                    handoff.id,
                    {"outcome": handoff.outcome, "correct_intent": correct_intent},
                )
            )
            reply = session.scalar(
                select(ReplyRow).where(ReplyRow.message_id == handoff.message_id)
            )
            assert reply is not None
            return _reply(reply)

    def claim_handoff(self, handoff_id: str, agent: str) -> Handoff:
        """Take an open handoff; only one person ever holds it. Claiming again keeps the time
        of the first claim, which handle time counts from."""
        claimed_at = func.coalesce(HandoffRow.claimed_at, utcnow())
        return self._hold(handoff_id, agent, agent, claimed_at, "handoff.claimed")

    def assign_handoff(
        self, handoff_id: str, actor: str, assignee: str | None, *, override: bool = False
    ) -> Handoff:
        """Give an open handoff to a colleague, or back to the queue (`assignee` None). Only its
        holder may, or anyone when it is unclaimed, or a supervisor (`override`)."""
        action = "handoff.assigned" if assignee else "handoff.released"
        claimed_at = utcnow() if assignee else None
        return self._hold(handoff_id, actor, assignee, claimed_at, action, override=override)

    def _hold(
        self,
        handoff_id: str,
        actor: str,
        assignee: str | None,
        claimed_at: Any,
        action: str,
        *,
        override: bool = False,
    ) -> Handoff:
        """One conditional update decides who holds a handoff, so two people never both win."""
        with self.session() as session:
            allowed = HandoffRow.status == "open"
            if not override:
                allowed &= HandoffRow.assignee.is_(None) | (HandoffRow.assignee == actor)
            changed = session.execute(
                update(HandoffRow)
                .where(HandoffRow.id == handoff_id, allowed)
                .values(assignee=assignee, claimed_at=claimed_at)
            ).rowcount
            handoff = session.get(HandoffRow, handoff_id)
            if handoff is None:
                raise UnknownHandoff(handoff_id)
            if not changed:
                if handoff.status != "open":
                    raise HandoffClosed(handoff_id)
                raise ClaimedByOther(handoff.assignee)
            data = {} if action == "handoff.claimed" else {"assignee": assignee}
            session.add(_audit(f"agent:{actor}", action, handoff_id, data))
            session.flush()
            session.refresh(handoff)
            return _handoff(handoff)

    def get_handoff(self, handoff_id: str) -> Handoff:
        with self.session() as session:
            row = session.get(HandoffRow, handoff_id)
            if row is None:
                raise UnknownHandoff(handoff_id)
            return _handoff(row)

    def escalate_handoff(self, handoff_id: str, agent: str, note: str) -> Handoff:
        """A human agent passes an open handoff on to the specialists."""
        with self.session() as session:
            handoff = session.get(HandoffRow, handoff_id, with_for_update=True)
            if handoff is None:
                raise UnknownHandoff(handoff_id)
            if handoff.status != "open":
                raise HandoffClosed(handoff_id)
            if handoff.assignee not in (None, agent):
                raise ClaimedByOther(handoff.assignee)
            if handoff.tier == "specialist":
                raise AlreadySpecialist(handoff_id)
            handoff.tier = "specialist"
            handoff.assignee = None  # the specialists' queue picks it up afresh
            handoff.escalations += 1
            handoff.packet = {**handoff.packet, "tier": "specialist"}
            session.add(_audit(f"agent:{agent}", "handoff.escalated", handoff.id, {"note": note}))
            session.flush()
            return _handoff(handoff)

    def training_rows(self, since: datetime | None = None) -> list[tuple[str, str, str, str]]:
        """(text, intent, outcome, message id) for every handoff a person resolved with a
        verdict on the intent: confirmed drafts keep the predicted intent, corrections the
        person's; rewritten answers say nothing about the intent and are left out."""
        query = (
            select(MessageRow.text, DecisionRow.intent, HandoffRow.outcome,
                   HandoffRow.correct_intent, MessageRow.id)
            .join(HandoffRow, HandoffRow.message_id == MessageRow.id)
            .join(DecisionRow, DecisionRow.message_id == MessageRow.id)
            .where(HandoffRow.status == "resolved", HandoffRow.outcome != "rewritten")
            .order_by(HandoffRow.resolved_at)
        )  # fmt: skip
        if since is not None:
            query = query.where(HandoffRow.resolved_at >= since)
        with self.session() as session:
            return [
                (text_, correct or predicted, outcome, message_id)
                for text_, predicted, outcome, correct, message_id in session.execute(query)
                if outcome != "wrong_intent" or correct
            ]

    # reading

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
                messages=[_message_view(row) for row in messages],
                decisions=[_decision(row) for row in decisions],
                replies=[_reply(row) for row in replies],
                handoffs=[_handoff(row) for row in handoffs],
            )

    def count_messages(self) -> dict[str, int]:
        with self.session() as session:
            rows = session.execute(
                select(MessageRow.state, func.count()).group_by(MessageRow.state)
            ).all()
            return {state: count for state, count in rows}

    # language models and guardrails

    def record_llm_call(self, call: LlmCall) -> None:
        with self.session() as session:
            session.add(LlmCallRow(**call.model_dump()))

    def chunk_texts(self, chunk_ids: list[str]) -> dict[str, str]:
        """The text of knowledge-base passages a draft cites, for checking it against them."""
        if not chunk_ids:
            return {}
        with self.session() as session:
            rows = session.execute(
                select(KnowledgeChunkRow.id, KnowledgeChunkRow.text).where(
                    KnowledgeChunkRow.id.in_(chunk_ids)
                )
            ).all()
            return {chunk_id: body for chunk_id, body in rows}


def _audit(actor: str, action: str, subject_id: str, data: dict[str, Any]) -> AuditRow:
    return AuditRow(at=utcnow(), actor=actor, action=action, subject_id=subject_id, data=data)


def _save_dialogue(
    session: Session, conversation_id: str, update: DialogueUpdate, now: datetime
) -> None:
    row = session.get(DialogueStateRow, conversation_id, with_for_update=True)
    current = 0 if row is None else row.version
    if current != update.expected_version:
        raise StaleDialogue(conversation_id)
    if row is None:
        session.add(
            DialogueStateRow(
                conversation_id=conversation_id, version=1, data=update.state, updated_at=now
            )
        )
    else:
        row.version, row.data, row.updated_at = current + 1, update.state, now


def _has_open_handoff(session: Session, conversation_id: str, except_id: str) -> bool:
    return (
        session.scalar(
            select(HandoffRow.id).where(
                HandoffRow.conversation_id == conversation_id,
                HandoffRow.status == "open",
                HandoffRow.id != except_id,
            )
        )
        is not None
    )


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


def _inbound(row: MessageRow, customer_ref: str | None) -> InboundMessage:
    return InboundMessage(
        id=row.id,
        conversation_id=row.conversation_id,
        channel=row.channel,
        text=row.text,
        customer_ref=customer_ref,
        idempotency_key=row.idempotency_key,
        received_at=row.received_at,
    )


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


def _decision(row: DecisionRow) -> DecisionRecord:
    return DecisionRecord(
        message_id=row.message_id,
        intent=IntentPrediction.model_validate(row.detail["intent"]),
        draft=DraftReply.model_validate(row.detail["draft"]),
        decision=RoutingDecision.model_validate(row.detail["decision"]),
        latency_ms=row.latency_ms,
        created_at=row.created_at,
        tool_calls=[ToolCall.model_validate(call) for call in row.detail.get("tool_calls", [])],
        tool_results=[
            ToolResult.model_validate(result) for result in row.detail.get("tool_results", [])
        ],
    )


def _message_view(row: MessageRow) -> MessageView:
    return MessageView(
        id=row.id,
        text=row.text,
        channel=row.channel,
        state=row.state,
        received_at=row.received_at,
        processed_at=row.processed_at,
    )


def _reply(row: ReplyRow) -> OutboundReply:
    return OutboundReply(
        id=row.id,
        conversation_id=row.conversation_id,
        in_reply_to=row.message_id,
        author=row.author,
        text=row.text,
        sources=[Source.model_validate(source) for source in row.sources],
        created_at=row.created_at,
    )


def _handoff(row: HandoffRow) -> Handoff:
    return Handoff(
        id=row.id,
        conversation_id=row.conversation_id,
        message_id=row.message_id,
        tier=row.tier,
        status=row.status,
        packet=HandoffPacket.model_validate(row.packet),
        created_at=row.created_at,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        outcome=row.outcome,
        correct_intent=row.correct_intent,
        handle_seconds=row.handle_seconds,
        escalations=row.escalations or 0,
        assignee=row.assignee,
        claimed_at=row.claimed_at,
    )

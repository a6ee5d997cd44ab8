"""Accepting customer messages: stored once per idempotency key, then handed to the queue."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from frontdesk.clock import utcnow
from frontdesk.contracts import Channel, InboundMessage
from frontdesk.store import rows
from frontdesk.store.base import StoreBase, audit, new_id
from frontdesk.store.errors import IdempotencyConflict, UnknownConversation
from frontdesk.store.tables import ConversationRow, MessageRow


@dataclass(frozen=True)
class Accepted:
    message: InboundMessage
    created: bool
    needs_enqueue: bool


class IntakeStore(StoreBase):
    def accept_message(
        self,
        text_: str,
        channel: Channel,
        conversation_id: str | None = None,
        idempotency_key: str | None = None,
        customer_ref: str | None = None,
    ) -> Accepted:
        """Store a customer message (state `accepted`); a reused idempotency key gives the first.

        The key is the client's, so it is only unique where that client is: within the
        conversation it continues (see `idempotency_scope`)."""
        if idempotency_key is not None:
            idempotency_key = idempotency_scope(idempotency_key, conversation_id, text_)
        try:
            with self.session() as session:
                if idempotency_key is not None:
                    earlier = session.scalar(
                        select(MessageRow).where(MessageRow.idempotency_key == idempotency_key)
                    )
                    if earlier is not None:
                        return _same_request(earlier, text_, conversation_id)
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
                session.add(audit("customer", "message.accepted", row.id, {"channel": channel}))
                return Accepted(rows.inbound(row, customer_ref), created=True, needs_enqueue=True)
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
                return _same_request(earlier, text_, conversation_id)

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
        """Messages received before `older_than` ago and not processed yet, oldest first: those
        stored but never handed to the queue (the process died in between, state `accepted`),
        and those handed to it (`enqueued`) that a queue may have lost since, as a Redis does
        when it restarts without persistence. Enqueueing is idempotent, so offering the queue
        a message it still holds changes nothing."""
        cutoff = utcnow() - older_than
        with self.session() as session:
            return list(
                session.scalars(
                    select(MessageRow.id)
                    .where(
                        MessageRow.state.in_(("accepted", "enqueued")),
                        MessageRow.received_at < cutoff,
                    )
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
            session.add(audit("worker", "message.dead_lettered", message_id, {"error": error}))


def idempotency_scope(key: str, conversation_id: str | None, text_: str) -> str:
    """The key as stored: unique within the conversation it continues. The first message of a
    new conversation has none yet, so its key is scoped by its text: two customers who pick the
    same key (a documentation example) with different texts both get their message stored."""
    if conversation_id is not None:
        return f"c:{conversation_id}:{_digest([key])}"
    return f"n:{_digest([key, text_])}"


def _digest(parts: list[str]) -> str:
    return hashlib.sha256(json.dumps(parts).encode("ascii")).hexdigest()


def _same_request(earlier: MessageRow, text_: str, conversation_id: str | None) -> Accepted:
    if earlier.text != text_ or conversation_id not in (None, earlier.conversation_id):
        raise IdempotencyConflict(earlier.idempotency_key)
    needs_enqueue = earlier.state == "accepted"
    return Accepted(rows.inbound(earlier, None), created=False, needs_enqueue=needs_enqueue)

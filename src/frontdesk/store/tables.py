"""Relational schema. Changes go through an Alembic migration in `migrations/versions`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ID_LENGTH = 32
Json = JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """Stores UTC without zone (SQLite has none) and always hands back aware datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class ConversationRow(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    customer_ref: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(24), default="open")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Set when the customer's data was erased (store/data_rights.py): only the decisions remain.
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class MessageRow(Base):
    """An inbound customer message. `state` follows accepted → enqueued → processed (or dead)."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_state_received", "state", "received_at"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    state: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    enqueued_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class DecisionRow(Base):
    """The agents' and coordinator's verdict on one message, kept for audit and retraining."""

    __tablename__ = "decisions"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"), unique=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    intent: Mapped[str] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(64))
    tier: Mapped[str] = mapped_column(String(16))
    rules: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    detail: Mapped[dict[str, Any]] = mapped_column(Json)
    latency_ms: Mapped[dict[str, float]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class ReplyRow(Base):
    """An answer sent to the customer; one per inbound message, so nothing is answered twice."""

    __tablename__ = "replies"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"), unique=True)
    author: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)
    sources: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class HandoffRow(Base):
    __tablename__ = "handoffs"
    __table_args__ = (Index("ix_handoffs_status_tier", "status", "tier", "created_at"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"), unique=True)
    tier: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    packet: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(120))
    outcome: Mapped[str | None] = mapped_column(String(24))
    correct_intent: Mapped[str | None] = mapped_column(String(64))
    handle_seconds: Mapped[float | None] = mapped_column(Float)
    escalations: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    assignee: Mapped[str | None] = mapped_column(String(120))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AuditRow(Base):
    __tablename__ = "audit_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(Json)


class KnowledgeDocumentRow(Base):
    __tablename__ = "kb_documents"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    source: Mapped[str] = mapped_column(String(500), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    ingested_at: Mapped[datetime] = mapped_column(UtcDateTime())


class KnowledgeChunkRow(Base):
    __tablename__ = "kb_chunks"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    document_id: Mapped[str] = mapped_column(
        ForeignKey("kb_documents.id", ondelete="CASCADE"), index=True
    )
    ordinal: Mapped[int] = mapped_column(Integer)
    heading: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    # Other ways customers ask the section's question, one per line ("" when none).
    asked: Mapped[str] = mapped_column(Text, default="", server_default="")


class KnowledgeVectorRow(Base):
    """A passage's dense vector, keyed by its text so an unchanged passage is never re-encoded."""

    __tablename__ = "kb_vectors"

    encoder: Mapped[str] = mapped_column(String(100), primary_key=True)
    text_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class ShopCustomerRow(Base):
    """The embedded shop: records as JSON documents, with the columns lookups need."""

    __tablename__ = "shop_customers"
    __table_args__ = (Index("ix_shop_customers_name_zip", "last_name", "first_name", "zip"),)

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    zip: Mapped[str] = mapped_column(String(20))
    data: Mapped[dict[str, Any]] = mapped_column(Json)


class ShopProductRow(Base):
    __tablename__ = "shop_products"

    product_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(Json)


class ShopItemRow(Base):
    """Which product a variant item belongs to."""

    __tablename__ = "shop_items"

    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("shop_products.product_id"), index=True)


class ShopOrderRow(Base):
    __tablename__ = "shop_orders"

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(Json)


class SupportCaseRow(Base):
    __tablename__ = "crm_cases"

    case_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OutboxRow(Base):
    """Emails to send outside a chat (password-reset links, verification codes); the email
    channel drains it. `pending` until sent (`sent_at`) or given up (`failed`, `last_error`);
    `idempotency_key` queues each once, even when a message is processed twice."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_created", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(32), server_default="notice")
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    # The email channel (channels/email): the Message-ID fixed when queued or claimed, so a
    # resend after a crash carries the same one; threading headers; when it may be tried next.
    message_id_header: Mapped[str | None] = mapped_column(String(250), index=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(250))
    thread_references: Mapped[str | None] = mapped_column(Text)
    auto_submitted: Mapped[bool] = mapped_column(Boolean, server_default=false())
    not_before: Mapped[datetime | None] = mapped_column(UtcDateTime())


class EmailMessageRow(Base):
    """A received mail, by `key` (its Message-ID, or a digest when it has none): taken once.
    `kind` is `message` (a customer message, `message_id`), `automatic` (an auto-reply, a list:
    never answered), `bounce` (recorded against the reply it returns) or `rejected` (oversized
    or unreadable: `raw` kept with the `reason`, for staff)."""

    __tablename__ = "email_messages"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(ForeignKey("messages.id"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"), index=True)
    message_id_header: Mapped[str | None] = mapped_column(String(250), index=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(250))
    thread_references: Mapped[str | None] = mapped_column(Text)
    sender: Mapped[str | None] = mapped_column(String(254), index=True)
    envelope_from: Mapped[str | None] = mapped_column(String(254))
    mailbox: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class EmailAttachmentRow(Base):
    """An attachment of a received mail: listed for staff, never read by an agent; `content`
    is None when it was larger than `[email] max_attachment_bytes`."""

    __tablename__ = "email_attachments"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    email_id: Mapped[str] = mapped_column(ForeignKey("email_messages.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)


class ToolEffectRow(Base):
    """A state-changing tool call, by idempotency key: the same key never acts twice."""

    __tablename__ = "tool_effects"

    idempotency_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tool: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DialogueStateRow(Base):
    """The real-time agent's memory of a conversation; `version` guards concurrent turns."""

    __tablename__ = "dialogue_states"

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(Json)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class StaffUserRow(Base):
    __tablename__ = "staff_users"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Set by `frontdesk users disable`: no sign-in, and every session of the account ends.
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class LlmCallRow(Base):
    """One language-model call: which agent, which model, tokens and cost (`[llm.prices]`)."""

    __tablename__ = "llm_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    provider: Mapped[str] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16))
    input_tokens: Mapped[int] = mapped_column(Integer)
    output_tokens: Mapped[int] = mapped_column(Integer)
    cost: Mapped[float | None] = mapped_column(Float)
    latency_ms: Mapped[float] = mapped_column(Float)


class SignInFailureRow(Base):
    """Failed staff sign-ins of one account (`account:NAME`) or client address (`address:IP`)
    and until when it must wait before the next attempt (store/sign_in.py)."""

    __tablename__ = "sign_in_failures"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    blocked_until: Mapped[datetime] = mapped_column(UtcDateTime())


class StaffSessionRow(Base):
    """A staff sign-in (store/staff_sessions.py). The cookie carries the session id; only its
    SHA-256 is stored, so a copy of the database signs nobody in."""

    __tablename__ = "staff_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(
        String(100), ForeignKey("staff_users.username", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class RatingRow(Base):
    """The customer's satisfaction with a conversation, 1 (bad) to 5 (very good), one per
    conversation (a new rating replaces the old), with the highest tier that worked on it."""

    __tablename__ = "ratings"

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), primary_key=True)
    score: Mapped[int] = mapped_column(Integer)
    tier: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    rated_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)

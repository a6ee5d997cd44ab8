"""Rows read back as the contracts the rest of frontdesk speaks."""

from __future__ import annotations

from frontdesk.contracts import (
    DecisionRecord,
    DraftReply,
    Handoff,
    HandoffPacket,
    InboundMessage,
    IntentPrediction,
    MessageView,
    OutboundReply,
    RoutingDecision,
    Source,
    ToolCall,
    ToolResult,
)
from frontdesk.store.tables import DecisionRow, HandoffRow, MessageRow, ReplyRow


def inbound(row: MessageRow, customer_ref: str | None) -> InboundMessage:
    return InboundMessage(
        id=row.id,
        conversation_id=row.conversation_id,
        channel=row.channel,
        text=row.text,
        customer_ref=customer_ref,
        idempotency_key=row.idempotency_key,
        received_at=row.received_at,
    )


def decision(row: DecisionRow) -> DecisionRecord:
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


def message_view(row: MessageRow) -> MessageView:
    return MessageView(
        id=row.id,
        text=row.text,
        channel=row.channel,
        state=row.state,
        received_at=row.received_at,
        processed_at=row.processed_at,
    )


def reply(row: ReplyRow) -> OutboundReply:
    return OutboundReply(
        id=row.id,
        conversation_id=row.conversation_id,
        in_reply_to=row.message_id,
        author=row.author,
        text=row.text,
        sources=[Source.model_validate(source) for source in row.sources],
        created_at=row.created_at,
    )


def handoff(row: HandoffRow) -> Handoff:
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

"""The typed messages that pass between frontdesk's parts.

Agents, the coordinator, the store and the edges (API, CLI, channels) exchange only these models,
so any part can be replaced without the others knowing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Tier = Literal["auto", "human", "specialist"]
Channel = Literal["web", "email", "api", "cli"]
DraftKind = Literal["knowledge", "template", "action"]
HandoffStatus = Literal["open", "resolved"]
Outcome = Literal["sent_as_drafted", "edited", "rewritten", "wrong_intent", "handed_back"]
MessageState = Literal["accepted", "enqueued", "processed", "dead"]


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InboundMessage(Contract):
    id: str
    conversation_id: str
    channel: Channel
    text: str
    customer_ref: str | None = None
    idempotency_key: str | None = None
    received_at: datetime


class TranscriptEntry(Contract):
    """One line of a conversation as a person reading it would see it."""

    role: Literal["customer", "bot", "agent"]
    text: str
    at: datetime
    author: str | None = None


class IntentAlternative(Contract):
    label: str
    confidence: float = Field(ge=0, le=1)


class IntentPrediction(Contract):
    label: str
    confidence: float = Field(ge=0, le=1, description="calibrated probability the label is right")
    model_version: str
    out_of_scope: bool
    alternatives: list[IntentAlternative] = []
    action_probability: float | None = Field(
        None,
        ge=0,
        le=1,
        description="probability the customer asks us to act on their order or account now, "
        "as opposed to asking how something works (None without a request-kind model)",
    )
    language: str | None = Field(
        None, description="ISO 639-1 code of a language the models do not cover, when detected"
    )


class ToolCall(Contract):
    id: str
    name: str
    arguments: dict[str, Any]
    idempotency_key: str


class ToolResult(Contract):
    call_id: str
    ok: bool
    output: dict[str, Any] = {}
    error: str | None = None


class Source(Contract):
    """A knowledge-base passage a draft rests on."""

    chunk_id: str
    document: str
    title: str
    heading: str
    score: float


class DraftReply(Contract):
    text: str
    kind: DraftKind
    sources: list[Source] = []
    grounded: bool = Field(
        description="every claim rests on a retrieved passage, a template or a tool result"
    )
    agent: str
    written_by_model: bool = Field(
        False,
        description="free text from a language model, as opposed to sentences our code composed "
        "from templates, passages or tool results",
    )
    confidence: float | None = Field(
        None,
        ge=0,
        le=1,
        description="the probability that this reply is right: the reply-confidence calibrator's "
        "reading of `signals` (before scoring, the drafting agent's own estimate, if any)",
    )
    candidates: list[Source] = Field(
        [],
        description="the next-best sections for a knowledge answer, best first: a person "
        "answering instead of the bot picks one",
    )
    in_dialogue: bool = Field(
        False,
        description="a turn of an account conversation under way (an answer to what the agent "
        "asked, such as an order number or a yes): the intent's label is noise for routing",
    )
    signals: dict[str, float] = Field(
        {},
        description="what the drafting agent knows about how good the reply is (section match, "
        "margin to the runner-up, dialogue step…): the calibrator's inputs",
    )


class GroundedAnswer(Contract):
    """A language model's answer to a question from knowledge-base passages."""

    text: str = Field(description="the answer, without citation markers")
    citations: list[str] = Field(
        min_length=1, description="chunk ids of the passages the answer rests on, in order"
    )
    agent: str = Field(description="who wrote it: the answering agent and its model")


GuardrailStage = Literal["input", "draft"]


class GuardrailVerdict(Contract):
    """One guardrail's judgement of a message or a draft; a trip keeps the reply from being sent
    automatically."""

    guardrail: str
    stage: GuardrailStage
    tripped: bool
    reason: str
    evidence: list[str] = Field(
        default_factory=list, description="what made it trip (PII redacted), for the person"
    )


class RuleHit(Contract):
    rule: str
    detail: str
    inputs: dict[str, Any] = Field(default_factory=dict, description="what the rule looked at")


class CustomerProfile(Contract):
    user_id: str
    name: str
    email: str
    tier: str = "standard"
    orders: int = 0


class RoutingContext(Contract):
    """Everything the coordinator decides on, stored with the decision."""

    text: str
    intent: IntentPrediction
    draft: DraftReply
    at: datetime
    customer: CustomerProfile | None = None
    amount_at_stake: float | None = Field(
        None, description="the largest sum involved: a refund, a price difference, a named amount"
    )
    earlier_confidences: list[float] = Field(
        default_factory=list, description="routing confidences of this conversation's earlier turns"
    )
    guardrails: list[GuardrailVerdict] = Field(
        default_factory=list, description="the guardrails' verdicts on the message and the draft"
    )


class RoutingDecision(Contract):
    tier: Tier
    confidence: float = Field(ge=0, le=1)
    rules: list[RuleHit]


class OrderSummary(Contract):
    order_id: str
    status: str
    total: float
    items: list[str]
    placed_at: date | None = None
    delivered_at: date | None = None


PolicyAction = Literal[
    "cancel", "modify", "return", "exchange", "replace_or_refund", "warranty_claim"
]


class PolicyOption(Contract):
    """One thing the policy allows (or refuses) for an order, with its sums and deadline."""

    action: PolicyAction
    order_id: str
    item_ids: list[str]
    allowed: bool
    amount: float = Field(description="refund (or price) involved, in the shop's currency")
    refund_to: list[str] = Field(default_factory=list, description="payment method ids")
    deadline: date | None = None
    reason: str


class EscalationCase(Contract):
    """The escalation agent's preparation of a case for a person."""

    customer: CustomerProfile | None
    orders: list[OrderSummary]
    options: list[PolicyOption]
    exceptions: list[str] = Field(description="what the customer asks for beyond the policy")
    summary: str
    draft: str


class IntentTurn(Contract):
    message_id: str
    text: str
    label: str
    confidence: float


class HandoffPacket(Contract):
    """Everything a person needs to pick a conversation up without asking again."""

    conversation_id: str
    message_id: str
    tier: Literal["human", "specialist"]
    transcript: list[TranscriptEntry]
    intent: IntentPrediction
    draft: DraftReply | None
    decision: RoutingDecision
    tool_calls: list[ToolCall] = []
    tool_results: list[ToolResult] = []
    intent_history: list[IntentTurn] = []
    case: EscalationCase | None = None
    sla_deadline: datetime | None = None


class OutboundReply(Contract):
    id: str
    conversation_id: str
    in_reply_to: str
    author: str
    text: str
    sources: list[Source] = []
    created_at: datetime


class Handoff(Contract):
    id: str
    conversation_id: str
    message_id: str
    tier: Literal["human", "specialist"]
    status: HandoffStatus
    packet: HandoffPacket
    created_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    outcome: Outcome | None = None
    correct_intent: str | None = None
    handle_seconds: float | None = None
    escalations: int = 0
    assignee: str | None = None
    claimed_at: datetime | None = None


class DialogueUpdate(Contract):
    """The real-time agent's new memory of the conversation, written with the outcome."""

    expected_version: int = Field(description="the version it was read at; 0 when there was none")
    state: dict[str, Any]


class TurnOutcome(Contract):
    """What the pipeline concluded for one inbound message; stored in one transaction."""

    message: InboundMessage
    intent: IntentPrediction
    draft: DraftReply
    decision: RoutingDecision
    latency_ms: dict[str, float]
    reply_text: str | None = Field(description="set when the tier is auto")
    handoff: HandoffPacket | None = None
    tool_calls: list[ToolCall] = []
    tool_results: list[ToolResult] = []
    dialogue: DialogueUpdate | None = None


class DecisionRecord(Contract):
    message_id: str
    intent: IntentPrediction
    draft: DraftReply
    decision: RoutingDecision
    latency_ms: dict[str, float]
    created_at: datetime
    tool_calls: list[ToolCall] = []
    tool_results: list[ToolResult] = []


LlmCallOutcome = Literal["ok", "failed", "over_budget"]


class LlmCall(Contract):
    """One call to a language model, with its token usage and what it cost."""

    at: datetime
    purpose: str = Field(description="the agent that called: response, escalation, realtime")
    provider: str
    model: str
    outcome: LlmCallOutcome
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = Field(None, description="from [llm.prices]; None when no price is set")
    latency_ms: float


class MessageView(Contract):
    id: str
    text: str
    channel: Channel
    state: MessageState
    received_at: datetime
    processed_at: datetime | None = None


class ConversationView(Contract):
    id: str
    channel: Channel
    customer_ref: str | None
    status: Literal["open", "waiting_for_person"]
    created_at: datetime
    messages: list[MessageView]
    decisions: list[DecisionRecord]
    replies: list[OutboundReply]
    handoffs: list[Handoff]


class TierShare(Contract):
    messages: int
    share: float


class ServiceMetrics(Contract):
    """How the service did in a time window."""

    since: datetime
    until: datetime
    messages: int
    tiers: dict[str, TierShare]
    automatic_resolution_rate: float | None = Field(
        description="conversations with messages in the window that no person had to handle"
    )
    handoffs: dict[str, int] = Field(description="handoffs opened in the window, per tier")
    resolved_handoffs: int
    handle_seconds_median: float | None
    handle_seconds_p90: float | None
    escalated_further: int
    reopen_rate: float | None = Field(
        description="resolved handoffs whose customer wrote again within the reopen window"
    )


class OutboundEmail(Contract):
    """An email waiting in the outbox: queued once per `idempotency_key`, so a redelivered
    message queues it once. The email channel sends it; until then it waits, nothing is lost."""

    idempotency_key: str = Field(max_length=200)
    conversation_id: str | None = None
    purpose: Literal["verification_code", "password_reset", "reply"]
    recipient: str = Field(max_length=254)
    subject: str = Field(max_length=200)
    body: str


class Satisfaction(Contract):
    """Customer satisfaction over a set of rated conversations."""

    ratings: int
    mean: float = Field(description="mean rating, 1 to 5")
    csat: float = Field(description="share of ratings of 4 or 5")

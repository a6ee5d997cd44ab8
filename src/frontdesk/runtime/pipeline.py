"""One pass of the agents over claimed messages: intent → draft → guardrails → routing → stored
outcome."""

from __future__ import annotations

import json
import time
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from structlog.contextvars import bound_contextvars

from frontdesk.agents.coordinator import Coordinator
from frontdesk.agents.escalation import EscalationAgent, EscalationRequest
from frontdesk.agents.intent import IntentAgent
from frontdesk.agents.realtime import RealtimeResponder, RealtimeTurn
from frontdesk.agents.response import ResponseAgent
from frontdesk.clock import utcnow
from frontdesk.confidence.scorer import ReplyScorer
from frontdesk.contracts import (
    CustomerProfile,
    DialogueUpdate,
    DraftReply,
    EscalationCase,
    GuardrailVerdict,
    HandoffPacket,
    InboundMessage,
    IntentPrediction,
    RoutingContext,
    RoutingDecision,
    ToolCall,
    ToolResult,
    TurnOutcome,
)
from frontdesk.guardrails import Guardrails, GuardrailSubject
from frontdesk.observability.metrics import RECORDER, Recorder
from frontdesk.observability.tracing import MessageTracer
from frontdesk.store.repository import Store
from frontdesk.tools.toolbox import IDENTIFICATION_CLOSED
from frontdesk.vocabulary import amounts

log = structlog.get_logger(__name__)


@dataclass
class BatchResult:
    done: list[str] = field(default_factory=list)  # processed now or before: acknowledge
    failed: dict[str, str] = field(default_factory=dict)  # message id → error: retry
    outcomes: list[TurnOutcome] = field(default_factory=list)
    conversations: dict[str, str] = field(default_factory=dict)  # message id → conversation id
    tripped: dict[str, list[str]] = field(default_factory=dict)  # newly stored → guardrails
    not_stored: int = 0  # failed because the batch's transaction failed


def _batch(messages: list[InboundMessage]) -> AbstractContextManager[None]:
    """A batched stage's log lines name the messages of the batch."""
    return bound_contextvars(message_ids=[message.id for message in messages])


def _traced(message: InboundMessage) -> AbstractContextManager[None]:
    """Every log line while this message is worked on names it and its conversation."""
    return bound_contextvars(message_id=message.id, conversation_id=message.conversation_id)


class Pipeline:
    def __init__(
        self,
        store: Store,
        intent_agent: IntentAgent,
        response_agent: ResponseAgent,
        coordinator: Coordinator,
        realtime_agent: RealtimeResponder | None = None,
        escalation_agent: EscalationAgent | None = None,
        guardrails: Guardrails | None = None,
        scorer: ReplyScorer | None = None,
        recorder: Recorder = RECORDER,
        tracer: MessageTracer | None = None,
    ) -> None:
        self.store = store
        self.recorder = recorder
        self.tracer = tracer
        self.scorer = scorer or ReplyScorer(None)
        self.guardrails = guardrails or Guardrails()
        self.intent_agent = intent_agent
        self.response_agent = response_agent
        self.coordinator = coordinator
        self.realtime_agent = realtime_agent
        self.escalation_agent = escalation_agent

    def warm_up(self) -> None:
        """Everything the agents can read ahead of the first message."""
        self.response_agent.warm_up()

    def process(self, message_ids: list[str]) -> BatchResult:
        result = self._process(message_ids)
        self._observe(result)
        return result

    def _process(self, message_ids: list[str]) -> BatchResult:
        claimed_at = utcnow()  # the worker hands over a batch as soon as it has claimed it
        result = BatchResult()
        loaded = self.store.load_messages(message_ids)
        result.conversations = {key: found[0].conversation_id for key, found in loaded.items()}
        pending: list[InboundMessage] = []
        for message_id in message_ids:
            found = loaded.get(message_id)
            if found is None:
                result.failed[message_id] = "message not found in the store"
            elif found[1] == "processed":
                result.done.append(message_id)
            else:
                pending.append(found[0])
        if not pending:
            return result
        pending.sort(key=lambda message: message.received_at)  # a conversation's turns in order
        started = time.perf_counter()
        with _batch(pending):
            intents = self.intent_agent.classify(pending)
        intent_ms = (time.perf_counter() - started) * 1000 / len(pending)
        drafts = self._draft(pending, intents, result)
        concluded = []
        for message, intent in zip(pending, intents, strict=True):
            if message.id not in drafts:
                continue
            try:
                with _traced(message):
                    concluded.append(
                        self._conclude(message, intent, drafts[message.id], intent_ms, claimed_at)
                    )
            except Exception as exc:  # one bad message must not hold back the batch
                log.exception("message.failed", message_id=message.id)
                result.failed[message.id] = f"{type(exc).__name__}: {exc}"
        try:
            stored = self.store.record_outcomes(concluded)
        except Exception as exc:
            log.exception("batch.not_stored", size=len(concluded))
            for outcome in concluded:
                result.failed[outcome.message.id] = f"{type(exc).__name__}: {exc}"
            result.not_stored = len(concluded)
            return result
        result.done.extend(outcome.message.id for outcome in concluded)
        result.outcomes.extend(concluded)
        result.tripped = {
            outcome.message.id: drafts[outcome.message.id].tripped
            for outcome, fresh in zip(concluded, stored, strict=True)
            if fresh  # a redelivery finding it processed already was counted the first time
        }
        return result

    def _observe(self, result: BatchResult) -> None:
        """The batch's metrics: each outcome now stored, each delivery that failed."""
        try:
            for outcome in result.outcomes:
                if outcome.message.id in result.tripped:
                    self.recorder.stored(outcome, result.tripped[outcome.message.id])
                    if self.tracer is not None:
                        self.tracer.decided(outcome)
                    log.info(
                        "message.decided",
                        message_id=outcome.message.id,
                        conversation_id=outcome.message.conversation_id,
                        intent=outcome.intent.label,
                        tier=outcome.decision.tier,
                        latency_ms=outcome.latency_ms,
                    )
            unstored = len(result.failed) - result.not_stored
            if result.not_stored:
                self.recorder.failed("not_stored", result.not_stored)
            if unstored:
                self.recorder.failed("pipeline", unstored)
        except Exception:  # metrics and traces must never cost a message its outcome
            log.exception("metrics.not_recorded")

    def _draft(
        self, messages: list[InboundMessage], intents: list[IntentPrediction], result: BatchResult
    ) -> dict[str, _Drafted]:
        """Account requests go to the real-time agent, one turn at a time per conversation;
        everything else to the response agent, in one batch."""
        drafted: dict[str, _Drafted] = {}
        memory = self.store.dialogue_states({m.conversation_id for m in messages})
        for_knowledge = []
        for message, intent in zip(messages, intents, strict=True):
            version, state = memory.get(message.conversation_id, (0, None))
            agent = self.realtime_agent
            if agent is None or not agent.wants(message, intent, state):
                for_knowledge.append((message, intent))
                continue
            started = time.perf_counter()
            try:
                with _traced(message):
                    turn = agent.respond(message, intent, state)
            except Exception as exc:
                log.exception("message.failed", message_id=message.id)
                result.failed[message.id] = f"{type(exc).__name__}: {exc}"
                continue
            elapsed = (time.perf_counter() - started) * 1000
            memory[message.conversation_id] = (version + 1, turn.state)
            drafted[message.id] = _Drafted(turn.draft, {"realtime": elapsed}, turn, version)
        if for_knowledge:
            started = time.perf_counter()
            with _batch([message for message, _intent in for_knowledge]):
                drafts = self.response_agent.draft(*map(list, zip(*for_knowledge, strict=True)))
            share = (time.perf_counter() - started) * 1000 / len(for_knowledge)
            for (message, _intent), draft in zip(for_knowledge, drafts, strict=True):
                drafted[message.id] = _Drafted(draft, {"response": share})
        return drafted

    def _conclude(
        self,
        message: InboundMessage,
        intent: IntentPrediction,
        drafted: _Drafted,
        intent_ms: float,
        claimed_at: datetime,
    ) -> TurnOutcome:
        started = time.perf_counter()
        verdicts = self._guard(message, intent, drafted)
        guarded = time.perf_counter()
        drafted.draft = draft = self.scorer.score(message.text, intent, drafted.draft)
        scored = time.perf_counter()
        decision = self.coordinator.decide(self._context(message, intent, drafted, verdicts))
        latency = {
            # Received until a worker claimed it; each stage after is timed on its own.
            "queue_wait": max(0.0, (claimed_at - message.received_at).total_seconds() * 1000),
            "intent": intent_ms,
            **drafted.stage_ms,
            "guardrails": (guarded - started) * 1000,
            "reply_confidence": (scored - guarded) * 1000,
            "coordinator": (time.perf_counter() - scored) * 1000,
        }
        latency = {stage: round(ms, 3) for stage, ms in latency.items()}
        handoff = None
        dialogue = drafted.dialogue(sent_by_the_bot=decision.tier == "auto")
        if decision.tier != "auto":
            handoff = HandoffPacket(
                conversation_id=message.conversation_id,
                message_id=message.id,
                tier=decision.tier,
                transcript=self.store.transcript(message.conversation_id),
                intent=intent,
                draft=draft,
                decision=decision,
                tool_calls=drafted.tool_calls,
                tool_results=drafted.tool_results,
                intent_history=self.store.intent_history(message.conversation_id),
                case=self._prepare_case(message, intent, drafted),
                sla_deadline=self.coordinator.deadline(decision.tier, message.received_at),
            )
        return TurnOutcome(
            message=message,
            intent=intent,
            draft=draft,
            decision=decision,
            latency_ms=latency,
            reply_text=draft.text if handoff is None else None,
            handoff=handoff,
            tool_calls=drafted.tool_calls,
            tool_results=drafted.tool_results,
            dialogue=dialogue,
        )

    def _guard(
        self, message: InboundMessage, intent: IntentPrediction, drafted: _Drafted
    ) -> list[GuardrailVerdict]:
        draft = drafted.draft
        cited = [source.chunk_id for source in draft.sources] if draft.kind == "knowledge" else []
        subject = GuardrailSubject(
            text=message.text,
            intent=intent,
            draft=draft,
            passages=self.store.chunk_texts(cited),
            tool_outputs=[json.dumps(r.output) for r in drafted.tool_results if r.ok],
        )
        verdicts = self.guardrails.check(subject)
        if drafted.turn is not None and drafted.turn.identification_closed:
            # A tripwire of the tools, routed like the guardrails': a person takes over.
            verdicts.append(IDENTIFICATION_CLOSED)
        tripped = [found.guardrail for found in verdicts if found.tripped]
        drafted.tripped = tripped
        if tripped:
            log.info("guardrail.tripped", message_id=message.id, guardrails=tripped)
        return verdicts

    def _context(
        self,
        message: InboundMessage,
        intent: IntentPrediction,
        drafted: _Drafted,
        verdicts: list[GuardrailVerdict],
    ) -> RoutingContext:
        stakes = [a for a in [drafted.amount_at_stake, *amounts(message.text)] if a is not None]
        return RoutingContext(
            text=message.text,
            intent=intent,
            draft=drafted.draft,
            at=message.received_at,
            customer=drafted.customer,
            amount_at_stake=max(stakes) if stakes else None,
            earlier_confidences=self.store.earlier_confidences(message.conversation_id),
            guardrails=verdicts,
        )

    def explain(self, text: str) -> tuple[RoutingContext, RoutingDecision]:
        """What would happen to `text` as the first message of a conversation; nothing is
        stored and no tool changes anything (changes only ever start as proposals)."""
        message = InboundMessage(
            id=uuid.uuid4().hex,
            conversation_id=uuid.uuid4().hex,
            channel="cli",
            text=text,
            received_at=utcnow(),
        )
        [intent] = self.intent_agent.classify([message])
        drafted = self._draft([message], [intent], BatchResult())[message.id]
        verdicts = self._guard(message, intent, drafted)
        drafted.draft = self.scorer.score(message.text, intent, drafted.draft)
        context = self._context(message, intent, drafted, verdicts)
        return context, self.coordinator.decide(context)

    def _prepare_case(
        self, message: InboundMessage, intent: IntentPrediction, drafted: _Drafted
    ) -> EscalationCase | None:
        if self.escalation_agent is None:
            return None
        turn = drafted.turn
        user_id = drafted.customer.user_id if drafted.customer else None
        order_id = turn.order_id if turn else None
        return self.escalation_agent.prepare(
            EscalationRequest(
                text=message.text,
                intent=intent.label,
                user_id=user_id or (turn.user_id if turn else None),
                order_ids=[order_id] if order_id else [],
                today=message.received_at.date(),
            )
        )


@dataclass
class _Drafted:
    draft: DraftReply
    stage_ms: dict[str, float]
    turn: RealtimeTurn | None = None  # the real-time agent's turn, when it drafted
    dialogue_version: int = 0  # the version of the memory the turn started from
    tripped: list[str] = field(default_factory=list)  # the guardrails that tripped

    @property
    def tool_calls(self) -> list[ToolCall]:
        return self.turn.tool_calls if self.turn else []

    @property
    def tool_results(self) -> list[ToolResult]:
        return self.turn.tool_results if self.turn else []

    @property
    def customer(self) -> CustomerProfile | None:
        return self.turn.customer if self.turn else None

    @property
    def amount_at_stake(self) -> float | None:
        return self.turn.amount_at_stake if self.turn else None

    def dialogue(self, *, sent_by_the_bot: bool) -> DialogueUpdate | None:
        """The real-time agent's memory to store with the outcome; when a person answers
        instead of the bot, the memory a person's turn keeps."""
        if self.turn is None:
            return None
        state = self.turn.state if sent_by_the_bot else self.turn.state_for_a_person()
        return DialogueUpdate(expected_version=self.dialogue_version, state=state)

"""One pass of the agents over claimed messages: intent → draft → routing → stored outcome."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import structlog

from frontdesk.agents.coordinator import Coordinator
from frontdesk.agents.intent import IntentAgent
from frontdesk.agents.response import ResponseAgent
from frontdesk.contracts import (
    DraftReply,
    HandoffPacket,
    InboundMessage,
    IntentPrediction,
    TurnOutcome,
)
from frontdesk.store.repository import Store
from frontdesk.store.tables import utcnow

log = structlog.get_logger(__name__)


@dataclass
class BatchResult:
    done: list[str] = field(default_factory=list)  # processed now or before: acknowledge
    failed: dict[str, str] = field(default_factory=dict)  # message id → error: retry
    outcomes: list[TurnOutcome] = field(default_factory=list)


class Pipeline:
    def __init__(
        self,
        store: Store,
        intent_agent: IntentAgent,
        response_agent: ResponseAgent,
        coordinator: Coordinator,
    ) -> None:
        self.store = store
        self.intent_agent = intent_agent
        self.response_agent = response_agent
        self.coordinator = coordinator

    def process(self, message_ids: list[str]) -> BatchResult:
        result = BatchResult()
        loaded = self.store.load_messages(message_ids)
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
        started = time.perf_counter()
        intents = self.intent_agent.classify(pending)
        classified = time.perf_counter()
        drafts = self.response_agent.draft(pending, intents)
        drafted = time.perf_counter()
        # Stages run once per batch; each message is charged its share.
        shares = {
            "intent": (classified - started) * 1000 / len(pending),
            "response": (drafted - classified) * 1000 / len(pending),
        }
        concluded = []
        for message, intent, draft in zip(pending, intents, drafts, strict=True):
            try:
                concluded.append(self._conclude(message, intent, draft, shares))
            except Exception as exc:  # one bad message must not hold back the batch
                log.exception("message.failed", message_id=message.id)
                result.failed[message.id] = f"{type(exc).__name__}: {exc}"
        try:
            self.store.record_outcomes(concluded)
        except Exception as exc:
            log.exception("batch.not_stored", size=len(concluded))
            for outcome in concluded:
                result.failed[outcome.message.id] = f"{type(exc).__name__}: {exc}"
            return result
        result.done.extend(outcome.message.id for outcome in concluded)
        result.outcomes.extend(concluded)
        return result

    def _conclude(
        self,
        message: InboundMessage,
        intent: IntentPrediction,
        draft: DraftReply,
        shares: dict[str, float],
    ) -> TurnOutcome:
        started = time.perf_counter()
        decision = self.coordinator.decide(intent, draft)
        latency = {
            "queue_wait": (utcnow() - message.received_at).total_seconds() * 1000,
            **shares,
            "coordinator": (time.perf_counter() - started) * 1000,
        }
        latency = {stage: round(ms, 3) for stage, ms in latency.items()}
        if decision.tier == "auto":
            return TurnOutcome(
                message=message,
                intent=intent,
                draft=draft,
                decision=decision,
                latency_ms=latency,
                reply_text=draft.text,
            )
        packet = HandoffPacket(
            conversation_id=message.conversation_id,
            message_id=message.id,
            tier=decision.tier,
            transcript=self.store.transcript(message.conversation_id),
            intent=intent,
            draft=draft,
            decision=decision,
        )
        return TurnOutcome(
            message=message,
            intent=intent,
            draft=draft,
            decision=decision,
            latency_ms=latency,
            reply_text=None,
            handoff=packet,
        )

"""Real-time agent: routine account requests answered with the shop's tools, without an LLM.

It runs from the intent, the entities of the message and what it remembers of the conversation:
it authenticates the customer, asks for what is missing, states the change and asks for an
explicit yes, then reports the outcome. The tools enforce authentication, ownership and
confirmation themselves, so no phrasing of a message can skip them.
"""

from __future__ import annotations

from typing import Any, Protocol

from frontdesk.agents.realtime.dialogue import DialogueState, Goal, RealtimeTurn, turn_signals
from frontdesk.agents.realtime.entities import extract
from frontdesk.agents.realtime.session import DialogueSession
from frontdesk.contracts import DraftReply, InboundMessage, IntentPrediction
from frontdesk.tools.toolbox import Toolbox

AGENT = "realtime-agent/rules-1"
GOALS: dict[str, Goal] = {
    "track_order": "status",
    "cancel_order": "cancel",
    "return_item": "return",
    "exchange_item": "exchange",
    "change_shipping_address": "order_address",
    "change_order": "order_change",
    "recover_password": "password_reset",
    "damaged_item": "case",
}
PROFILE_ADDRESS_INTENT = "edit_account"
GOAL_CONFIDENCE = 0.5
ACTION_PROBABILITY = 0.5
LEAVE_CONFIDENCE = 0.9


class RealtimeResponder(Protocol):
    def wants(
        self, message: InboundMessage, intent: IntentPrediction, state: dict[str, Any] | None
    ) -> bool: ...

    def respond(
        self, message: InboundMessage, intent: IntentPrediction, state: dict[str, Any] | None
    ) -> RealtimeTurn: ...


class RealtimeAgent:
    def __init__(self, toolbox: Toolbox, handoff_intents: frozenset[str] = frozenset()) -> None:
        """`handoff_intents` (asking for a person) take a conversation away even from a change
        awaiting the customer's yes or no."""
        self.toolbox = toolbox
        self.handoff_intents = handoff_intents

    def wants(
        self, message: InboundMessage, intent: IntentPrediction, state: dict[str, Any] | None
    ) -> bool:
        """True when this message belongs to an account request, new or under way."""
        dialogue = DialogueState.model_validate(state or {})
        if _goal_of(message.text, intent) is not None and (
            dialogue.goal is not None or asks_to_act(intent)
        ):
            # A question about the policy ("is there a fee to cancel?") is for the articles.
            return True
        entities = extract(message.text)
        if dialogue.goal is None and dialogue.tools.pending is None:
            # Within an account conversation a bare yes or no is answered here, not as small talk.
            return dialogue.tools.user_id is not None and (entities.yes or entities.no)
        if dialogue.tools.pending is not None and dialogue.proposal:
            # "yes but what about the refund?" is about the change on the table: restating it
            # (amount and where the money goes included) answers it and asks again.
            return intent.label not in self.handoff_intents
        leaving = intent.confidence > LEAVE_CONFIDENCE and intent.label not in GOALS
        relevant = (
            entities.yes or entities.no or entities.order_ids or entities.email or entities.code
        )
        return not leaving or bool(relevant or entities.name or entities.address)

    def respond(
        self, message: InboundMessage, intent: IntentPrediction, state: dict[str, Any] | None
    ) -> RealtimeTurn:
        dialogue = DialogueState.model_validate(state or {})
        entities = extract(message.text)
        session = DialogueSession(self.toolbox, dialogue, message, entities)
        continuing = state is not None
        text = session.run(_goal_of(message.text, intent, dialogue.goal))
        return RealtimeTurn(
            draft=DraftReply(
                text=text,
                kind="action",
                grounded=True,
                agent=AGENT,
                in_dialogue=continuing,
                signals=turn_signals(session.dialogue, entities, session.results, continuing),
            ),
            state=session.dialogue.model_dump(mode="json"),
            tool_calls=session.calls,
            tool_results=session.results,
            customer=session.profile(),
            amount_at_stake=session.amount_at_stake,
        )


def asks_to_act(intent: IntentPrediction) -> bool:
    """The customer asks us to act on their order or account, not how something works (without
    a request-kind signal every request with a goal is taken as one)."""
    return intent.action_probability is None or intent.action_probability >= ACTION_PROBABILITY


def _goal_of(text: str, intent: IntentPrediction, under_way: Goal | None = None) -> Goal | None:
    """The request this message starts; switching away from one under way takes more certainty
    (a bare order number must not read as a new request)."""
    if intent.confidence < (LEAVE_CONFIDENCE if under_way else GOAL_CONFIDENCE):
        return None
    if intent.label == PROFILE_ADDRESS_INTENT and "address" in text.lower():
        return "profile_address"
    return GOALS.get(intent.label)

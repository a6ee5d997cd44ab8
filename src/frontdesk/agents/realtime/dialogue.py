"""What the real-time agent remembers of a conversation and what one turn of it gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel

from frontdesk.agents.realtime.entities import Entities
from frontdesk.contracts import CustomerProfile, DraftReply, ToolCall, ToolResult
from frontdesk.tools.toolbox import ToolState

Goal = Literal[
    "status",
    "cancel",
    "return",
    "exchange",
    "order_address",
    "order_change",
    "profile_address",
    "password_reset",
    "case",
]


class DialogueState(BaseModel):
    tools: ToolState = ToolState()
    goal: Goal | None = None
    order_id: str | None = None
    item_ids: list[str] = []
    slots: dict[str, Any] = {}  # what the customer said in earlier turns of this request
    proposal: str | None = None  # the change awaiting a yes, as it was put to the customer


def turn_signals(
    dialogue: DialogueState, entities: Entities, results: list[ToolResult], continuing: bool
) -> dict[str, float]:
    """What a turn knows about how well it went, for the reply-confidence calibrator: whether it
    answers what the agent asked, who is signed in, what the customer gave and how the tools
    fared."""
    return {
        "continuing": float(continuing),
        "has_goal": float(dialogue.goal is not None),
        "authenticated": float(dialogue.tools.user_id is not None),
        "order_named": float(bool(entities.order_ids)),
        "identity_given": float(entities.email is not None or entities.name is not None),
        "awaiting_yes": float(dialogue.tools.pending is not None),
        "tool_calls": float(len(results)),
        "tool_failures": float(sum(not result.ok for result in results)),
    }


@dataclass
class RealtimeTurn:
    draft: DraftReply
    state: dict[str, Any]
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_results: list[ToolResult] = field(default_factory=list)
    customer: CustomerProfile | None = None
    amount_at_stake: float | None = None

    @cached_property
    def _memory(self) -> DialogueState:
        return DialogueState.model_validate(self.state)

    @property
    def order_id(self) -> str | None:
        """The order the request is about, once the customer named or chose one."""
        return self._memory.order_id

    @property
    def user_id(self) -> str | None:
        """The authenticated customer, if any."""
        return self._memory.tools.user_id

    @property
    def identification_closed(self) -> bool:
        """Too many failed identifications and nobody identified: a person takes over."""
        tools = self._memory.tools
        return tools.identification_closed and tools.user_id is None

    def state_for_a_person(self) -> dict[str, Any]:
        """The memory to keep when a person answers this turn instead of the bot: the change it
        proposed was never put to the customer by the bot, so a later bare "yes" must not
        confirm it; the person decides what to ask, and the change is proposed again."""
        if self._memory.tools.pending is None:
            return self.state
        tools = self._memory.tools.model_copy(update={"pending": None})
        return self._memory.model_copy(update={"tools": tools}).model_dump(mode="json")

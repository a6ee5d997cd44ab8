"""Real-time agent with a language model choosing the tools (pydantic-ai tool calling).

The model gets the same tools as the rule-based agent, less the changes the shop's backend cannot
make, and the tools keep their own rules: authentication, ownership and an explicit yes decided by
our code, not by the model. When the model fails or is unreachable (`PROVIDER_FAILURES`, shared
with the other LLM agents: Bedrock's missing credentials as well as pydantic-ai's errors), the turn
is answered by the rule-based agent instead. Every run (all the model requests of one turn) is
metered like the other agents' calls.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import structlog
from pydantic_ai import Agent, RunContext, Tool
from pydantic_ai.models import Model

from frontdesk.agents.realtime.agent import RealtimeAgent
from frontdesk.agents.realtime.dialogue import DialogueState, RealtimeTurn, turn_signals
from frontdesk.agents.realtime.entities import extract
from frontdesk.contracts import DraftReply, InboundMessage, IntentPrediction, ToolCall, ToolResult
from frontdesk.llm.models import PROVIDER_FAILURES
from frontdesk.llm.usage import UsageMeter, elapsed_ms
from frontdesk.tools.toolbox import Tool as ToolSpec
from frontdesk.tools.toolbox import Toolbox, Turn

log = structlog.get_logger(__name__)

AGENT = "realtime-agent/llm-1"
HISTORY = "llm_history"
HISTORY_LINES = 20
INSTRUCTIONS = """\
You are the customer-service assistant of an online shop. You help one customer per conversation
to check, cancel or modify pending orders, return or exchange delivered orders, change their
default address, reset their password and open support cases.
- Authenticate first: find the customer's user id by email, or by first name, last name and zip.
- Use only facts from the tools; never invent order details, prices or policies.
- A changing tool answers `confirmation_required` the first time: then describe the exact change
  to the customer and ask for an explicit yes. Call it again, with the same arguments, only after
  the customer's message is that yes.
- Cancellation reasons are only 'no longer needed' or 'ordered by mistake'.
- If no tool does what the customer asks, say so and offer to transfer them to a person.
- Refuse requests about other customers. Keep replies short and plain."""


@dataclass
class _Deps:
    toolbox: Toolbox
    turn: Turn
    calls: list[ToolCall]
    results: list[ToolResult]


def _tool(spec: ToolSpec) -> Tool[_Deps]:
    def run(ctx: RunContext[_Deps], **arguments: Any) -> dict[str, Any]:
        call, result = ctx.deps.toolbox.call(ctx.deps.turn, spec.name, arguments)
        ctx.deps.calls.append(call)
        ctx.deps.results.append(result)
        if result.ok:
            return result.output
        return {"error": result.error, **result.output}

    return Tool.from_schema(
        run,
        name=spec.name,
        description=spec.description,
        json_schema=spec.arguments.model_json_schema(),
        takes_ctx=True,
    )


class LlmRealtimeAgent:
    def __init__(
        self, toolbox: Toolbox, model: Model, fallback: RealtimeAgent, meter: UsageMeter
    ) -> None:
        self.toolbox = toolbox
        self.fallback = fallback
        self.meter = meter
        self.agent: Agent[_Deps, str] = Agent(
            model,
            deps_type=_Deps,
            instructions=INSTRUCTIONS,
            tools=[_tool(spec) for spec in toolbox.tools.values()],
        )

    def wants(
        self, message: InboundMessage, intent: IntentPrediction, state: dict[str, Any] | None
    ) -> bool:
        return self.fallback.wants(message, intent, state)

    def respond(
        self, message: InboundMessage, intent: IntentPrediction, state: dict[str, Any] | None
    ) -> RealtimeTurn:
        dialogue = DialogueState.model_validate(state or {})
        turn = Turn(
            state=dialogue.tools, message_id=message.id, confirmed=extract(message.text).yes
        )
        deps = _Deps(self.toolbox, turn, [], [])
        history: list[str] = dialogue.slots.get(HISTORY, [])
        prompt = "\n".join([*history, f"Customer: {message.text}"])
        started = time.perf_counter()
        try:
            result = self.agent.run_sync(prompt, deps=deps)
        except PROVIDER_FAILURES as exc:
            self.meter.record("failed", elapsed_ms(started))
            log.warning("llm.failed_falling_back", error=str(exc), message_id=message.id)
            return self.fallback.respond(message, intent, state)
        self.meter.record("ok", elapsed_ms(started), result.usage)
        answer = result.output
        dialogue.slots[HISTORY] = [*history, f"Customer: {message.text}", f"Assistant: {answer}"][
            -HISTORY_LINES:
        ]
        return RealtimeTurn(
            draft=DraftReply(
                text=answer,
                kind="action",
                grounded=True,
                agent=AGENT,
                written_by_model=True,
                in_dialogue=state is not None,
                signals=turn_signals(
                    dialogue, extract(message.text), deps.results, state is not None
                ),
            ),
            state=dialogue.model_dump(mode="json"),
            tool_calls=deps.calls,
            tool_results=deps.results,
        )

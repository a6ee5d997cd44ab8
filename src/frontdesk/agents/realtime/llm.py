"""Real-time agent with a language model choosing the tools (pydantic-ai tool calling).

The model gets the same tools as the rule-based agent, less the changes the shop's backend cannot
make, and the tools keep their own rules: authentication, ownership and an explicit yes decided by
our code, not by the model. The model never holds up the real-time path: a turn's run (all its
model requests and tool calls) has `[realtime] llm_budget_ms`, after which it is cancelled and no
further tool call of it runs. When the run is over budget, or the model fails or is unreachable
(`PROVIDER_FAILURES`, shared with the other LLM agents), the rule-based agent answers the turn
instead; only if the run had already acted (a confirmed change, a reset link, a case) does that
action stand, reported in the rule-based agent's words, so that nothing is done twice. Every run
is metered like the other agents' calls, a late one as `over_budget` with its elapsed time.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

import structlog
from pydantic_ai import Agent, AgentRunResult, RunContext, Tool
from pydantic_ai.exceptions import RunCancelled
from pydantic_ai.models import Model
from pydantic_ai.usage import RunUsage

from frontdesk.agents.realtime import replies
from frontdesk.agents.realtime.agent import AGENT as RULES_AGENT
from frontdesk.agents.realtime.agent import RealtimeAgent
from frontdesk.agents.realtime.dialogue import DialogueState, RealtimeTurn, turn_signals
from frontdesk.agents.realtime.entities import extract
from frontdesk.contracts import (
    DraftReply,
    InboundMessage,
    IntentPrediction,
    LlmCallOutcome,
    ToolCall,
    ToolResult,
)
from frontdesk.llm.models import PROVIDER_FAILURES
from frontdesk.llm.settings import RealtimeSettings
from frontdesk.llm.usage import UsageMeter, elapsed_ms
from frontdesk.tools.toolbox import TOOLS, Toolbox, Turn
from frontdesk.tools.toolbox import Tool as ToolSpec

log = structlog.get_logger(__name__)

AGENT = "realtime-agent/llm-1"
HISTORY = "llm_history"
HISTORY_LINES = 20
DEFAULT_BUDGET_MS = RealtimeSettings().llm_budget_ms
# The tools whose successful call acts on the shop or the customer rather than reading.
ACTING_TOOLS = frozenset(
    {name for name, tool in TOOLS.items() if tool.changes_state}
    | {"start_password_reset", "open_support_case"}
)
OUT_OF_TIME = "the time for this turn is spent; nothing was done"
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
    """One turn's tool use, behind a gate that closes when the turn's budget is spent: a tool
    call starts only while it is open, and closing waits for a call under way to finish, so that
    nothing of the model's run acts after the turn is handed to the rule-based agent."""

    toolbox: Toolbox
    turn: Turn
    deadline: float  # a time.perf_counter() reading
    calls: list[ToolCall] = field(default_factory=list)
    results: list[ToolResult] = field(default_factory=list)
    refused: bool = False  # a tool call came after the deadline
    closed: bool = False
    gate: threading.Lock = field(default_factory=threading.Lock)

    def call(self, name: str, arguments: dict[str, Any]) -> ToolResult | None:
        with self.gate:
            if self.closed or time.perf_counter() >= self.deadline:
                self.refused = True
                return None
            call, result = self.toolbox.call(self.turn, name, arguments)
            self.calls.append(call)
            self.results.append(result)
            return result

    def close(self) -> None:
        with self.gate:
            self.closed = True

    def acted(self) -> list[tuple[ToolCall, ToolResult]]:
        return [
            (call, result)
            for call, result in zip(self.calls, self.results, strict=True)
            if result.ok and call.name in ACTING_TOOLS
        ]


def _tool(spec: ToolSpec) -> Tool[_Deps]:
    def run(ctx: RunContext[_Deps], **arguments: Any) -> dict[str, Any]:
        result = ctx.deps.call(spec.name, arguments)
        if result is None:
            return {"error": OUT_OF_TIME}
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
        self,
        toolbox: Toolbox,
        model: Model,
        fallback: RealtimeAgent,
        meter: UsageMeter,
        budget_ms: float = DEFAULT_BUDGET_MS,
    ) -> None:
        """`budget_ms`: the longest a turn's run may take before the rule-based agent answers."""
        self.toolbox = toolbox
        self.fallback = fallback
        self.meter = meter
        self.budget_ms = budget_ms
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
            state=dialogue.tools,
            message_id=message.id,
            confirmed=extract(message.text).yes,
            conversation_id=message.conversation_id,
        )
        history: list[str] = dialogue.slots.get(HISTORY, [])
        prompt = "\n".join([*history, f"Customer: {message.text}"])
        started = time.perf_counter()
        deps = _Deps(self.toolbox, turn, deadline=started + self.budget_ms / 1000)
        try:
            result = self._run(prompt, deps)
        except PROVIDER_FAILURES as exc:
            late = isinstance(exc, TimeoutError)
            self._record("over_budget" if late else "failed", started, message, exc)
            return self._without_the_model(message, intent, state, dialogue, deps)
        if deps.refused or elapsed_ms(started) >= self.budget_ms:
            self._record("over_budget", started, message, usage=result.usage)
            return self._without_the_model(message, intent, state, dialogue, deps)
        self.meter.record("ok", elapsed_ms(started), result.usage)
        answer = result.output
        _remember(dialogue, history, message.text, answer)
        return _turn(answer, AGENT, message, state, dialogue, deps)

    def _run(self, prompt: str, deps: _Deps) -> AgentRunResult[str]:
        """The model's turn, within the budget. The run's own deadline cancels a model request
        under way (and the SDK's retries); a tool call under way finishes first, and once the gate
        is closed here no tool call of the run starts: nothing of it acts after it returns."""
        try:
            return self.agent.run_sync(prompt, deps=deps, timeout=self.budget_ms / 1000)
        finally:
            deps.close()

    def _record(
        self,
        outcome: LlmCallOutcome,
        started: float,
        message: InboundMessage,
        error: BaseException | None = None,
        usage: RunUsage | None = None,
    ) -> None:
        latency = elapsed_ms(started)
        if usage is None and isinstance(error, RunCancelled):
            usage = error.usage  # what the requests it finished used
        self.meter.record(outcome, latency, usage)
        log.warning(
            "llm.realtime_falling_back",
            outcome=outcome,
            budget_ms=self.budget_ms,
            elapsed_ms=round(latency, 1),
            error=str(error) if error else None,
            message_id=message.id,
        )

    def _without_the_model(
        self,
        message: InboundMessage,
        intent: IntentPrediction,
        state: dict[str, Any] | None,
        dialogue: DialogueState,
        deps: _Deps,
    ) -> RealtimeTurn:
        """The turn the model did not finish: the rule-based agent's, from the conversation as it
        was before the run. A run that had already acted keeps its tool calls and state instead,
        and the turn says what was done in the rule-based agent's words: answering it afresh
        could act a second time (a case with other words is another case)."""
        history: list[str] = dialogue.slots.get(HISTORY, [])
        acted = deps.acted()
        if not acted:
            turn = self.fallback.respond(message, intent, state)
            memory = DialogueState.model_validate(turn.state)
            _remember(memory, history, message.text, turn.draft.text)
            return replace(turn, state=memory.model_dump(mode="json"))
        text = " ".join(_done(call.name, result.output) for call, result in acted)
        dialogue.goal, dialogue.proposal = None, None  # done, as the rule-based agent leaves it
        _remember(dialogue, history, message.text, text)
        return _turn(text, RULES_AGENT, message, state, dialogue, deps)


def _turn(
    text: str,
    agent: str,
    message: InboundMessage,
    state: dict[str, Any] | None,
    dialogue: DialogueState,
    deps: _Deps,
) -> RealtimeTurn:
    """The turn of a run, with its tool calls and the dialogue as the run left it; written by
    the model unless the rule-based agent's words report what the run did."""
    return RealtimeTurn(
        draft=DraftReply(
            text=text,
            kind="action",
            grounded=True,
            agent=agent,
            written_by_model=agent == AGENT,
            in_dialogue=state is not None,
            signals=turn_signals(dialogue, extract(message.text), deps.results, state is not None),
        ),
        state=dialogue.model_dump(mode="json"),
        tool_calls=deps.calls,
        tool_results=deps.results,
    )


def _remember(dialogue: DialogueState, history: list[str], said: str, answer: str) -> None:
    """Keep the exchange for the model's next turn, whoever answered this one."""
    dialogue.slots[HISTORY] = [*history, f"Customer: {said}", f"Assistant: {answer}"][
        -HISTORY_LINES:
    ]


def _done(tool: str, output: dict[str, Any]) -> str:
    if tool == "start_password_reset":
        return replies.reset_sent(output["sent_to"])
    if tool == "open_support_case":
        return (
            f"I've opened case {output['case_id'][:8]}; our team will contact you within one "
            "business day."
        )
    return replies.change_done(tool, output)

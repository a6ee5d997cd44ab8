"""What the workers observe, as Prometheus metrics: stage and end-to-end latency, messages by
channel, intent, tier and outcome, tool calls, guardrail trips, LLM calls.

The metrics live in prometheus-client's default registry. With `PROMETHEUS_MULTIPROC_DIR` set
before the process starts, prometheus-client writes every value to a file of this process in
that directory instead, and a scrape adds up the files of all processes (exposition.py).

Labels are few and bounded: the intent model's labels, tiers, channels, tool, guardrail and
model names; never a conversation, message or customer id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from prometheus_client import Counter, Histogram

from frontdesk.clock import utcnow
from frontdesk.contracts import LlmCall, TurnOutcome

# Seconds: sub-millisecond stages (coordinator, guardrails) up to queue waits of minutes.
BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 300.0,
)  # fmt: skip

STAGE_SECONDS = Histogram(
    "frontdesk_stage_seconds",
    "Time a stored message spent in each pipeline stage (batched stages: its share)",
    ["stage"],
    buckets=BUCKETS,
)
MESSAGE_SECONDS = Histogram(
    "frontdesk_message_seconds",
    "From intake to the stored decision, per message",
    buckets=BUCKETS,
)
MESSAGES = Counter(
    "frontdesk_messages",
    "Messages decided and stored, by channel, intent, tier and outcome (replied or handed_off)",
    ["channel", "intent", "tier", "outcome"],
)
FAILURES = Counter(
    "frontdesk_message_failures",
    "Deliveries of a message that ended without a stored outcome (the job is retried)",
    ["reason"],
)
DEAD_LETTERED = Counter(
    "frontdesk_messages_dead_lettered", "Messages moved to the dead letters after their last try"
)
TOOL_CALLS = Counter("frontdesk_tool_calls", "Tool calls of stored turns, by tool", ["tool"])
TOOL_ERRORS = Counter(
    "frontdesk_tool_errors", "Tool calls of stored turns that failed, by tool", ["tool"]
)
GUARDRAIL_TRIPS = Counter(
    "frontdesk_guardrail_trips",
    "Guardrails tripped on stored messages, by guardrail",
    ["guardrail"],
)
LLM_CALLS = Counter(
    "frontdesk_llm_calls", "Language-model calls, by model, purpose and outcome",
    ["model", "purpose", "outcome"],
)  # fmt: skip
LLM_TOKENS = Counter(
    "frontdesk_llm_tokens", "Tokens of language-model calls, by model, purpose and direction",
    ["model", "purpose", "direction"],
)  # fmt: skip
LLM_COST = Counter(
    "frontdesk_llm_cost",
    "Cost of language-model calls priced by [llm.prices], by model and purpose",
    ["model", "purpose"],
)
LLM_SECONDS = Histogram(
    "frontdesk_llm_call_seconds",
    "Latency of language-model calls, by model and purpose",
    ["model", "purpose"],
    buckets=BUCKETS,
)


class Recorder:
    """Records what the pipeline and the worker did. A call costs a few microseconds; the
    benchmark (bench/metrics.py) measures it against a pipeline pass."""

    def stored(self, outcome: TurnOutcome, tripped: Sequence[str] = ()) -> None:
        """One outcome committed to the store, with the guardrails that tripped on it."""
        for stage, ms in outcome.latency_ms.items():
            STAGE_SECONDS.labels(stage).observe(ms / 1000)
        message = outcome.message
        MESSAGE_SECONDS.observe(max(0.0, (utcnow() - message.received_at).total_seconds()))
        tier = outcome.decision.tier
        MESSAGES.labels(
            message.channel,
            outcome.intent.label,
            tier,
            "replied" if outcome.handoff is None else "handed_off",
        ).inc()
        names = {call.id: call.name for call in outcome.tool_calls}
        for call in outcome.tool_calls:
            TOOL_CALLS.labels(call.name).inc()
        for result in outcome.tool_results:
            if not result.ok:
                TOOL_ERRORS.labels(names.get(result.call_id, "unknown")).inc()
        for guardrail in tripped:
            GUARDRAIL_TRIPS.labels(guardrail).inc()

    def failed(self, reason: str, count: int = 1) -> None:
        """Deliveries that ended without an outcome: `pipeline` (an agent or the coordinator
        failed, or the message was not in the store) or `not_stored` (the batch's transaction
        failed)."""
        FAILURES.labels(reason).inc(count)

    def dead_lettered(self) -> None:
        DEAD_LETTERED.inc()

    def llm_call(self, call: LlmCall) -> None:
        LLM_CALLS.labels(call.model, call.purpose, call.outcome).inc()
        LLM_TOKENS.labels(call.model, call.purpose, "input").inc(call.input_tokens)
        LLM_TOKENS.labels(call.model, call.purpose, "output").inc(call.output_tokens)
        if call.cost is not None:
            LLM_COST.labels(call.model, call.purpose).inc(call.cost)
        LLM_SECONDS.labels(call.model, call.purpose).observe(call.latency_ms / 1000)


class NoRecorder(Recorder):
    """Records nothing: the pipeline's cost without instrumentation, for the benchmark."""

    def stored(self, outcome: TurnOutcome, tripped: Sequence[str] = ()) -> None:
        pass

    def failed(self, reason: str, count: int = 1) -> None:
        pass

    def dead_lettered(self) -> None:
        pass

    def llm_call(self, call: LlmCall) -> None:
        pass


RECORDER = Recorder()


def observed_llm_calls(
    sink: Callable[[LlmCall], None], recorder: Recorder = RECORDER
) -> Callable[[LlmCall], None]:
    """A sink for the usage meters that counts each call, then stores it with `sink`."""

    def record(call: LlmCall) -> None:
        recorder.llm_call(call)
        sink(call)

    return record

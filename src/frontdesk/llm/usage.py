"""Token usage and cost of every model call, priced from `[llm.prices]` and kept in the store."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from pydantic_ai.usage import RunUsage

from frontdesk.clock import utcnow
from frontdesk.config import LlmSettings
from frontdesk.contracts import LlmCall, LlmCallOutcome
from frontdesk.llm.settings import TokenPrice

log = structlog.get_logger(__name__)

LlmCallSink = Callable[[LlmCall], None]


def elapsed_ms(started: float) -> float:
    """Milliseconds since `started`, a `time.perf_counter()` reading: a call's latency."""
    return (time.perf_counter() - started) * 1000


def cost_of(price: TokenPrice | None, input_tokens: int, output_tokens: int) -> float | None:
    if price is None:
        return None
    return round(
        input_tokens / 1000 * price.input_per_1k + output_tokens / 1000 * price.output_per_1k, 8
    )


@dataclass(frozen=True)
class UsageMeter:
    """Records the calls of one agent (`purpose`) to one model."""

    settings: LlmSettings
    model: str
    purpose: str
    sink: LlmCallSink | None = None

    def record(
        self, outcome: LlmCallOutcome, latency_ms: float, usage: RunUsage | None = None
    ) -> LlmCall:
        input_tokens = usage.input_tokens if usage else 0
        output_tokens = usage.output_tokens if usage else 0
        call = LlmCall(
            at=utcnow(),
            purpose=self.purpose,
            provider=self.settings.provider,
            model=self.model,
            outcome=outcome,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost=cost_of(self.settings.prices.get(self.model), input_tokens, output_tokens),
            latency_ms=round(latency_ms, 3),
        )
        log.info("llm.call", **call.model_dump(mode="json", exclude={"at"}))
        if self.sink is not None:
            try:
                self.sink(call)
            except Exception:  # accounting must never cost the customer the answer
                log.exception("llm.call_not_recorded", purpose=self.purpose)
        return call

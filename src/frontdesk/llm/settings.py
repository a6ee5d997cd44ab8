"""Settings of the language-model agents that `frontdesk.config` assembles: the price of a
model's tokens (`[llm.prices]`) and the real-time agent's latency budget (`[realtime]`,
docs/realtime.md)."""

from __future__ import annotations

from pydantic import Field

from frontdesk.settings_section import Section


class TokenPrice(Section):
    input_per_1k: float = Field(ge=0, description="price of 1,000 input tokens, 0 or more")
    output_per_1k: float = Field(ge=0, description="price of 1,000 output tokens, 0 or more")


class RealtimeSettings(Section):
    llm_budget_ms: int = Field(
        200,
        gt=0,
        le=60_000,
        description="milliseconds the real-time agent's model may take for one turn, all its "
        "requests and tool calls together, above 0 and ≤ 60000; past it the run is cancelled "
        "and the rule-based agent answers",
    )

"""Settings of the language-model agents that `frontdesk.config` assembles: the price of a
model's tokens (`[llm.prices]`), the real-time agent's latency budget and how it identifies
customers (`[realtime]`, docs/realtime.md and docs/security.md)."""

from __future__ import annotations

from typing import Literal

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
    verify: Literal["tau", "email_code"] = Field(
        "tau",
        description='how the real-time agent confirms who the customer is: "tau" (τ-retail\'s '
        "policy: the email address on the account, or full name and zip code, is enough) or "
        '"email_code" (after that lookup a 6-digit code goes to the email address on the '
        "account through the outbox, and only that code typed back in the chat identifies the "
        "customer; set it wherever customer data is real, docs/security.md)",
    )
    code_minutes: int = Field(
        10,
        ge=1,
        le=1440,
        description="minutes an emailed verification code stays valid, from 1 to 1440",
    )

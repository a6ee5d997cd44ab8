"""The report as data: every number the HTML page shows, and its `--format json` twin."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class Figures(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Volume(Figures):
    """Messages received in the window, by channel and by the hour of the day they came in."""

    messages: int
    by_channel: dict[str, int]
    by_channel_hour: dict[str, list[int]] = Field(
        description="per channel, 24 counts: hour 0 to 23 of the report's time zone"
    )


class Daily(Figures):
    """One entry per day of the window (the report's time zone)."""

    days: list[str] = Field(description="ISO dates")
    messages: list[int]
    tiers: dict[str, list[int]] = Field(description="decided messages per tier and day")
    escalation_rate: list[float | None]
    automation_rate: list[float | None]


class Routing(Figures):
    messages: int = Field(description="messages decided in the window")
    conversations: int = Field(description="conversations with a decision in the window")
    tier_shares: dict[str, float | None]
    tier_messages: dict[str, int]
    escalated_conversations: int
    escalation_rate: float | None = Field(
        description="first-level escalation rate: the share of conversations in which at least "
        "one message was handed to a person"
    )
    automation_rate: float | None = Field(
        description="the share of decided messages the bot answered by itself (tier auto)"
    )


class HandleTime(Figures):
    resolved: int
    median_seconds: float | None
    p90_seconds: float | None
    mean_seconds: float | None


class Handling(Figures):
    """Handoffs a person resolved in the window (their handle time: claimed until resolved)."""

    per_tier: dict[str, HandleTime]
    resolved: int
    human_seconds: float = Field(description="the handle times of those handoffs, added up")
    average_handle_seconds: float | None


class Percentiles(Figures):
    count: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


class Latency(Figures):
    """The real-time path from the stored decisions' latencies: `total` is a message's stages
    added up (received until decided); the stages one by one beside it."""

    total: Percentiles
    stages: dict[str, Percentiles]


class Csat(Figures):
    ratings: int
    average: float | None
    satisfied: float | None = Field(description="CSAT: the share of ratings of 4 or 5")
    per_tier: dict[str, float | None]


class ModelCost(Figures):
    calls: int
    input_tokens: int
    output_tokens: int
    priced: bool = Field(description="false when [llm.prices] has no price for the model")
    cost: float = Field(description="tokens at the configured price; 0 when unpriced")


class Cost(Figures):
    currency: str
    loaded_wage_per_hour: float
    queries_per_hour: float
    interactions: int = Field(description="conversations with a decision in the window")
    llm_by_model: dict[str, ModelCost]
    llm_cost: float
    human_minutes: float
    human_cost: float
    total_cost: float
    cost_per_interaction: float | None
    all_human_cost_per_interaction: float = Field(
        description="loaded_wage_per_hour / queries_per_hour: every conversation to a person"
    )
    all_human_cost: float
    saving: float = Field(description="all_human_cost − total_cost")
    saving_share: float | None


class Baseline(Figures):
    """What the window is compared with: the baseline window's figures, each replaced by the
    configured one (`[report.baseline]`) when set, unless the window was asked for."""

    since: datetime
    until: datetime
    escalation_rate: float | None
    average_handle_seconds: float | None
    configured: list[str] = Field(description="the figures taken from [report.baseline]")


class Headline(Figures):
    """The pilot's two figures for the window: relative changes against the baseline."""

    baseline: Baseline
    escalation_rate: float | None
    average_handle_seconds: float | None
    escalation_rate_change: float | None = Field(
        description="(window − baseline) / baseline; −0.38 is 38 % fewer escalations"
    )
    average_handle_time_change: float | None


class Report(Figures):
    since: datetime
    until: datetime
    timezone: str
    generated_at: datetime
    headline: Headline
    volume: Volume
    daily: Daily
    routing: Routing
    handling: Handling
    latency: Latency
    csat: Csat | None = Field(description="None until ratings are stored")
    cost: Cost

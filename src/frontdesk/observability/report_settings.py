"""The `[report]` settings of `frontdesk report`: what a person's hour costs, how many simple
queries a person answers in one, and the figures to compare the window with
(docs/observability.md#the-report)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from frontdesk.settings_section import Section


class BaselineFigures(Section):
    escalation_rate: float | None = Field(
        None,
        ge=0,
        le=1,
        description="the share of conversations the first level handed on before frontdesk "
        "(0–1), the baseline of the headline's escalation change; unset, the baseline window's",
    )
    average_handle_seconds: float | None = Field(
        None,
        gt=0,
        description="the average handle time of a conversation before frontdesk, in seconds "
        "above 0; unset, the baseline window's",
    )


class ReportSettings(Section):
    currency: str = Field(
        "USD",
        min_length=1,
        max_length=8,
        description="the currency of the wage and of [llm.prices], as printed, e.g. USD or EUR",
    )
    loaded_wage_per_hour: float = Field(
        40.0,
        ge=0,
        description="what an hour of a support person costs, wage plus overheads, 0 or more",
    )
    queries_per_hour: float = Field(
        40.0,
        gt=0,
        le=1000,
        description="simple queries one person answers in an hour (30–50 is typical), above 0 "
        "and ≤ 1000: the all-human baseline of the cost comparison",
    )
    timezone: str | None = Field(
        None,
        description="an IANA time zone for the report's hours and days, e.g. Europe/Berlin; "
        "unset, routing.business_hours.timezone",
    )
    baseline: BaselineFigures = Field(
        default_factory=BaselineFigures,
        description="escalation_rate and average_handle_seconds of the time before frontdesk; "
        "when set they replace the baseline window's figures in the headline",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str | None) -> str | None:
        if name is None:
            return None
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}; use an IANA name") from None
        return name

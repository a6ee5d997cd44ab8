"""Routing rules as configured (`[[routing.rules]]` in frontdesk.toml, or a rules file).

Each rule names the condition it watches (`when`) and the tier it sends a message to when the
condition holds. Rules only ever raise a tier (auto < human < specialist): the most severe tier
among the confidence tier and every rule that fired wins, and every fired rule is recorded.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WORKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=80)
    tier: Literal["human", "specialist"]


class IntentRule(_Rule):
    """The intent is one of these (e.g. complaints, account deletion)."""

    when: Literal["intent_in"]
    intents: list[str] = Field(min_length=1)
    only_requests: bool = Field(
        False,
        description='true to fire only when the customer asks us to act ("delete my account"), '
        'not for a question about how it works ("what happens to my data if I close it?")',
    )


class TextRule(_Rule):
    """The message matches a regular expression (case-insensitive), e.g. legal threats."""

    when: Literal["text_matches"]
    pattern: str = Field(min_length=1)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"not a regular expression ({exc})") from None
        return pattern


class AmountRule(_Rule):
    """Money at stake (a refund, a price difference, an amount the customer names) is above."""

    when: Literal["amount_over"]
    amount: float = Field(gt=0)


class CustomerTierRule(_Rule):
    """The authenticated customer's account tier is one of these (e.g. vip, enterprise)."""

    when: Literal["customer_tier_in"]
    tiers: list[str] = Field(min_length=1)


class LowConfidenceStreakRule(_Rule):
    """This turn and the ones before it were all below a confidence: the bot keeps missing."""

    when: Literal["low_confidence_streak"]
    turns: int = Field(2, ge=2, le=10)
    below: float = Field(0.7, gt=0, lt=1)


class GuardrailRule(_Rule):
    """A guardrail tripped on the message or the draft (injection, off-topic, ungrounded,
    a promise outside policy, disclosed personal data), or the draft rests on no source."""

    when: Literal["guardrail_tripped"]


class BusinessHoursRule(_Rule):
    """The message arrived outside `[routing.business_hours]`."""

    when: Literal["outside_business_hours"]


Rule = Annotated[
    IntentRule
    | TextRule
    | AmountRule
    | CustomerTierRule
    | LowConfidenceStreakRule
    | GuardrailRule
    | BusinessHoursRule,
    Field(discriminator="when"),
]


class BusinessHours(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "America/New_York"
    days: list[Weekday] = Field(default_factory=lambda: list(WORKDAYS))
    open: time = time(8, 0)
    close: time = time(20, 0)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}; use an IANA name") from None
        return name

    @model_validator(mode="after")
    def _opens_before_closing(self) -> BusinessHours:
        if self.open >= self.close:
            raise ValueError(f"open ({self.open}) must be before close ({self.close})")
        return self


class ServiceLevels(BaseModel):
    """How soon a person must answer a handoff, counted in business hours."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    human_minutes: int = Field(60, ge=1, le=10_080)
    specialist_minutes: int = Field(240, ge=1, le=10_080)


def default_rules() -> list[Rule]:
    return [
        TextRule(
            name="legal threat",
            when="text_matches",
            pattern=r"\b(lawyers?|attorneys?|sue|suing|lawsuit|legal action|court|solicitor)\b",
            tier="specialist",
        ),
        IntentRule(
            name="sensitive request",
            when="intent_in",
            intents=["complaint", "delete_account"],
            only_requests=True,
            tier="specialist",
        ),
        AmountRule(name="large amount", when="amount_over", amount=250.0, tier="specialist"),
        CustomerTierRule(
            name="key account", when="customer_tier_in", tiers=["vip", "enterprise"], tier="human"
        ),
        LowConfidenceStreakRule(
            name="repeated uncertainty", when="low_confidence_streak", tier="human"
        ),
        GuardrailRule(name="guardrail", when="guardrail_tripped", tier="human"),
    ]

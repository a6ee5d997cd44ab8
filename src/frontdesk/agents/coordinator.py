"""Coordinator: picks the tier for a message from the reply's confidence and business rules, and
says why.

The confidence (the calibrated probability that the draft is right) picks a tier first: above
auto_threshold the reply is sent; otherwise a person answers, checking the draft from
human_threshold up and writing the answer below it. Rules can only raise the tier: the most severe
among all that fired wins, and every rule that fired is recorded with the inputs it saw.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from frontdesk.contracts import RoutingContext, RoutingDecision, RuleHit, Tier
from frontdesk.rules import (
    WEEKDAYS,
    AmountRule,
    BusinessHours,
    BusinessHoursRule,
    CustomerTierRule,
    GuardrailRule,
    IntentRule,
    LowConfidenceStreakRule,
    Rule,
    ServiceLevels,
    TextRule,
)

SEVERITY: dict[Tier, int] = {"auto": 0, "human": 1, "specialist": 2}


@dataclass(frozen=True)
class RoutingPolicy:
    auto_threshold: float
    human_threshold: float
    handoff_intents: frozenset[str]
    rules: tuple[Rule, ...] = ()
    business_hours: BusinessHours = field(default_factory=BusinessHours)
    sla: ServiceLevels = field(default_factory=ServiceLevels)


def is_open(hours: BusinessHours, at: datetime) -> bool:
    local = at.astimezone(ZoneInfo(hours.timezone))
    return WEEKDAYS[local.weekday()] in hours.days and hours.open <= local.time() < hours.close


def business_deadline(hours: BusinessHours, start: datetime, minutes: int) -> datetime:
    """`minutes` of business time after `start`: the clock only runs while the team is in."""
    zone = ZoneInfo(hours.timezone)
    current = start.astimezone(zone)
    remaining = timedelta(minutes=minutes)
    for _ in range(400):  # bounded: a year of days is more than any service level needs
        opening = datetime.combine(current.date(), hours.open, zone)
        closing = datetime.combine(current.date(), hours.close, zone)
        if WEEKDAYS[current.weekday()] in hours.days and current < closing:
            current = max(current, opening)
            if current + remaining <= closing:
                return (current + remaining).astimezone(start.tzinfo)
            remaining -= closing - current
        current = datetime.combine(current.date() + timedelta(days=1), hours.open, zone)
    raise ValueError("no business hours within a year")


def confidence_tier(confidence: float, auto: float, human: float) -> Tier:
    """The reference design's tier for a confidence alone: above `auto` sent, from `human` up a
    person, below that a senior specialist (the replay's intent-confidence baseline)."""
    if confidence > auto:
        return "auto"
    return "human" if confidence >= human else "specialist"


class Coordinator:
    def __init__(self, policy: RoutingPolicy) -> None:
        self.policy = policy
        self._patterns = {
            rule.name: re.compile(rule.pattern, re.IGNORECASE)
            for rule in policy.rules
            if isinstance(rule, TextRule)
        }

    def deadline(self, tier: Tier, at: datetime) -> datetime | None:
        """When a person must have answered a handoff of this tier."""
        if tier == "auto":
            return None
        sla = self.policy.sla
        minutes = sla.human_minutes if tier == "human" else sla.specialist_minutes
        return business_deadline(self.policy.business_hours, at, minutes)

    def confidence_of(self, context: RoutingContext) -> float:
        """The reply's confidence, which the pipeline's scorer put on every draft; the intent's
        when a caller routes an unscored draft."""
        draft = context.draft
        return context.intent.confidence if draft.confidence is None else draft.confidence

    def decide(self, context: RoutingContext) -> RoutingDecision:
        policy = self.policy
        intent, draft = context.intent, context.draft
        confidence = self.confidence_of(context)
        subject = f"{draft.agent} turn" if draft.in_dialogue else f"reply to {intent.label}"
        seen = {"label": intent.label, "confidence": round(confidence, 4)}
        # The confidence says how likely the reply is right, not how hard the case is: below
        # the automatic threshold a person answers, and only rules about the case (a legal
        # threat, a sensitive request, money at stake) call for a senior specialist.
        tier: Tier = "auto" if confidence > policy.auto_threshold else "human"
        if tier == "auto":
            level = "auto"
            detail = f"{subject} at {confidence:.3f} > {policy.auto_threshold}"
        elif confidence >= policy.human_threshold:
            level = "human"
            detail = (
                f"{subject} at {confidence:.3f} in [{policy.human_threshold}, "
                f"{policy.auto_threshold}]: a person checks the draft"
            )
        else:
            level = "low"
            detail = (
                f"{subject} at {confidence:.3f} < {policy.human_threshold}: the draft is "
                "probably wrong, a person answers"
            )
        hits = [RuleHit(rule=f"confidence.{level}", detail=detail, inputs=seen)]
        if intent.language is not None:
            # Nothing our models say about the message holds in a language they do not read,
            # and a senior specialist reads it no better: a person answers.
            hits.append(
                RuleHit(
                    rule="language.unsupported",
                    detail=f"written in {intent.language!r}, which the models do not cover",
                    inputs={"language": intent.language},
                )
            )
            return RoutingDecision(tier="human", confidence=confidence, rules=hits)
        # In a dialogue turn ("#W1234567", "yes") the label is noise: intent rules stay out.
        intent_driven = not draft.in_dialogue
        if intent_driven and intent.label in policy.handoff_intents:
            hits.append(
                RuleHit(
                    rule="intent.handoff",
                    detail=f"{intent.label}: the customer asked for a person",
                    inputs={"label": intent.label},
                )
            )
            tier = _raise(tier, "human")
        for rule in policy.rules:
            if isinstance(rule, IntentRule) and not intent_driven:
                continue
            hit = self._check(rule, context, confidence)
            if hit is not None:
                hits.append(hit)
                tier = _raise(tier, rule.tier)
        if tier == "auto" and not draft.grounded:
            # A safety net under the configurable guardrail rule: never sent unsupported.
            hits.append(
                RuleHit(
                    rule="draft.ungrounded",
                    detail="no source supports the draft, so a person answers",
                    inputs={"draft_kind": draft.kind},
                )
            )
            tier = "human"
        tripped = [found for found in context.guardrails if found.tripped]
        if tier == "auto" and tripped:
            # The same net for every guardrail, whatever rules are configured.
            hits.append(
                RuleHit(
                    rule="guardrail.tripped",
                    detail=f"{tripped[0].guardrail}: {tripped[0].reason}, so a person answers",
                    inputs={"guardrails": [found.guardrail for found in tripped]},
                )
            )
            tier = "human"
        return RoutingDecision(tier=tier, confidence=confidence, rules=hits)

    def _check(self, rule: Rule, context: RoutingContext, confidence: float) -> RuleHit | None:
        name = f"{rule.when}:{rule.name}"
        intent = context.intent
        asks_to_act = intent.action_probability is None or intent.action_probability >= 0.5
        if (
            isinstance(rule, IntentRule)
            and intent.label in rule.intents
            and (asks_to_act or not rule.only_requests)
        ):
            return RuleHit(
                rule=name,
                detail=f"intent {context.intent.label} → {rule.tier}",
                inputs={"label": context.intent.label},
            )
        if isinstance(rule, TextRule):
            match = self._patterns[rule.name].search(context.text)
            if match:
                return RuleHit(
                    rule=name,
                    detail=f"the message says {match.group(0)!r} → {rule.tier}",
                    inputs={"matched": match.group(0)},
                )
        amount = context.amount_at_stake
        if isinstance(rule, AmountRule) and amount is not None and amount > rule.amount:
            return RuleHit(
                rule=name,
                detail=f"{amount:.2f} at stake > {rule.amount:.2f} → {rule.tier}",
                inputs={"amount_at_stake": amount},
            )
        customer = context.customer
        if isinstance(rule, CustomerTierRule) and customer and customer.tier in rule.tiers:
            return RuleHit(
                rule=name,
                detail=f"customer tier {customer.tier} → {rule.tier}",
                inputs={"user_id": customer.user_id, "tier": customer.tier},
            )
        if isinstance(rule, LowConfidenceStreakRule):
            streak = [*context.earlier_confidences[-(rule.turns - 1) :], confidence]
            if len(streak) == rule.turns and all(value < rule.below for value in streak):
                return RuleHit(
                    rule=name,
                    detail=f"{rule.turns} turns in a row below {rule.below} → {rule.tier}",
                    inputs={"confidences": [round(value, 4) for value in streak]},
                )
        tripped = [found for found in context.guardrails if found.tripped]
        if isinstance(rule, GuardrailRule) and tripped:
            return RuleHit(
                rule=name,
                detail="; ".join(f"{f.guardrail}: {f.reason}" for f in tripped) + f" → {rule.tier}",
                inputs={
                    "guardrails": [found.guardrail for found in tripped],
                    "evidence": [item for found in tripped for item in found.evidence],
                },
            )
        if isinstance(rule, GuardrailRule) and not context.draft.grounded:
            return RuleHit(
                rule=name,
                detail=f"the draft is not grounded in a source → {rule.tier}",
                inputs={"guardrail": "grounded", "draft_kind": context.draft.kind},
            )
        if isinstance(rule, BusinessHoursRule) and not is_open(
            self.policy.business_hours, context.at
        ):
            return RuleHit(
                rule=name,
                detail=f"outside business hours → {rule.tier}",
                inputs={"at": context.at.isoformat()},
            )
        return None


def _raise(current: Tier, proposed: Tier) -> Tier:
    return proposed if SEVERITY[proposed] > SEVERITY[current] else current

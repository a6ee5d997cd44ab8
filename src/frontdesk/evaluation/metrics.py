"""The figures of a replay: what a customer and a support team would see, per group of items,
for the system and for baselines scored on the same drafts."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from frontdesk.agents.coordinator import confidence_tier
from frontdesk.contracts import DraftKind, Tier
from frontdesk.training.calibration import expected_calibration_error

TIER_ORDER: dict[Tier, int] = {"auto": 0, "human": 1, "specialist": 2}


@dataclass(frozen=True)
class ItemOutcome:
    """One replayed item: where its last turn went and whether its draft was right."""

    item_id: str
    kind: str
    intent: str  # the expected intent of the first turn
    predicted_intent: str
    acceptable_tiers: tuple[Tier, ...]
    tier: Tier
    confidence: float  # the routing confidence the coordinator used
    intent_confidence: float
    forced_tier: Tier  # the least tier the rules other than confidence demanded
    right_reply: bool  # the draft would be right if sent
    disclosures: int = 0
    draft_kind: DraftKind = "knowledge"
    features: dict[str, float] = field(default_factory=dict)  # the calibrator's inputs
    latency_ms: dict[str, float] = field(default_factory=dict)  # the last turn's, per stage
    reply: str = ""  # the draft, as the customer would have read it
    cited: tuple[str, ...] = ()  # the headings of the sections it cites

    @property
    def routine(self) -> bool:
        """A message the bot may answer by itself."""
        return "auto" in self.acceptable_tiers

    @property
    def routed_on_confidence(self) -> bool:
        """No rule other than confidence held it to a person: its reply confidence decided."""
        return self.forced_tier == "auto"


Router = Callable[[ItemOutcome], Tier]


def system_tier(outcome: ItemOutcome) -> Tier:
    return outcome.tier


def all_to_a_human(_outcome: ItemOutcome) -> Tier:
    return "human"


def intent_confidence_only(auto: float = 0.9, human: float = 0.7) -> Router:
    """Routing on the intent classifier's confidence, as frontdesk did before reply
    confidence, keeping every rule that demanded a person."""

    def route(outcome: ItemOutcome) -> Tier:
        tier = confidence_tier(outcome.intent_confidence, auto, human)
        return max(tier, outcome.forced_tier, key=TIER_ORDER.__getitem__)

    return route


def figures(outcomes: Iterable[ItemOutcome], route: Router = system_tier) -> dict[str, Any]:
    """Automation (right automatic replies per routine message), wrong automatic replies (per
    automatic reply), hand-offs, routine messages sent to a specialist, disclosures."""
    rows = list(outcomes)
    tiers = [route(outcome) for outcome in rows]
    auto = [o for o, t in zip(rows, tiers, strict=True) if t == "auto"]
    routine = [o for o in rows if o.routine]
    right_auto = sum(o.right_reply for o in auto)
    wrong_auto = len(auto) - right_auto
    routine_specialist = sum(
        1 for o, t in zip(rows, tiers, strict=True) if o.routine and t == "specialist"
    )
    acceptable = sum(1 for o, t in zip(rows, tiers, strict=True) if t in o.acceptable_tiers)
    return {
        "items": len(rows),
        "routine": len(routine),
        "automatic": len(auto),
        "right_automatic": right_auto,
        "wrong_automatic": wrong_auto,
        "automation_rate": _share(right_auto, len(routine)),
        "wrong_automatic_rate": _share(wrong_auto, len(auto)),
        "to_human": _share(tiers.count("human"), len(rows)),
        "to_specialist": _share(tiers.count("specialist"), len(rows)),
        "routine_to_specialist": _share(routine_specialist, len(routine)),
        "acceptable_tier": _share(acceptable, len(rows)),
        "cross_customer_disclosures": sum(o.disclosures for o in auto),
    }


def by_group(
    outcomes: list[ItemOutcome], key: Callable[[ItemOutcome], str], route: Router = system_tier
) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[ItemOutcome]] = {}
    for outcome in outcomes:
        groups.setdefault(key(outcome), []).append(outcome)
    return {name: figures(groups[name], route) for name in sorted(groups)}


def risk_coverage(
    outcomes: list[ItemOutcome], score: Callable[[ItemOutcome], float]
) -> list[dict[str, float]]:
    """Sending automatically every draft whose score exceeds a threshold (and that no rule keeps
    from the bot): the automation and the wrong-automatic rate at each threshold."""
    routine = sum(o.routine for o in outcomes) or 1
    eligible = sorted((o for o in outcomes if o.routed_on_confidence), key=lambda o: -score(o))
    curve, right = [], 0
    for sent, outcome in enumerate(eligible, start=1):
        right += outcome.right_reply
        curve.append(
            {
                "threshold": round(score(outcome), 4),
                "automation_rate": round(right / routine, 4),
                "wrong_automatic_rate": round((sent - right) / sent, 4),
            }
        )
    return curve


def stage_latency(outcomes: list[ItemOutcome]) -> dict[str, dict[str, float]]:
    """Median and p95 milliseconds of each pipeline stage over the items' last turns (the wait
    in the queue left out: a replay processes one message at a time)."""
    stages = sorted({stage for o in outcomes for stage in o.latency_ms} - {"queue_wait"})
    found = {}
    for stage in stages:
        values = np.array([o.latency_ms[stage] for o in outcomes if stage in o.latency_ms])
        found[stage] = {
            "median": round(float(np.median(values)), 3),
            "p95": round(float(np.percentile(values, 95)), 3),
        }
    return found


def calibration_error(outcomes: list[ItemOutcome]) -> float:
    """ECE of the routing confidence as the probability that the reply is right."""
    confidence = np.array([o.confidence for o in outcomes], dtype=float)
    right = np.array([o.right_reply for o in outcomes], dtype=float)
    return round(expected_calibration_error(confidence, right), 4)


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0

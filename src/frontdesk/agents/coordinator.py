"""Coordinator: picks the tier for a message from confidence and business rules, and says why."""

from __future__ import annotations

from dataclasses import dataclass

from frontdesk.contracts import DraftReply, IntentPrediction, RoutingDecision, RuleHit, Tier


@dataclass(frozen=True)
class RoutingPolicy:
    auto_threshold: float
    human_threshold: float
    handoff_intents: frozenset[str]


class Coordinator:
    def __init__(self, policy: RoutingPolicy) -> None:
        self.policy = policy

    def decide(self, intent: IntentPrediction, draft: DraftReply) -> RoutingDecision:
        policy = self.policy
        # A dialogue turn that got the answer it asked for ("yes", an email) is judged by the
        # dialogue, not by the classifier's reading of two words out of context.
        confidence = intent.confidence if draft.confidence is None else draft.confidence
        subject = intent.label if draft.confidence is None else f"{draft.agent} turn"
        tier: Tier
        if confidence > policy.auto_threshold:
            tier = "auto"
            rule = RuleHit(
                rule="confidence.auto",
                detail=f"{subject} at {confidence:.3f} > {policy.auto_threshold}",
            )
        elif confidence >= policy.human_threshold:
            tier = "human"
            rule = RuleHit(
                rule="confidence.human",
                detail=f"{subject} at {confidence:.3f} in "
                f"[{policy.human_threshold}, {policy.auto_threshold}]",
            )
        else:
            tier = "specialist"
            rule = RuleHit(
                rule="confidence.specialist",
                detail=f"{subject} at {confidence:.3f} < {policy.human_threshold}",
            )
        rules = [rule]
        if tier == "auto" and intent.label in policy.handoff_intents:
            tier = "human"
            rules.append(
                RuleHit(rule="intent.handoff", detail=f"{intent.label} always goes to a person")
            )
        if tier == "auto" and not draft.grounded:
            tier = "human"
            rules.append(
                RuleHit(rule="draft.ungrounded", detail="no help article supports an answer")
            )
        return RoutingDecision(tier=tier, confidence=confidence, rules=rules)

"""Coordinator rules, table by table: each rule type, then precedence, then validation."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from frontdesk.agents.coordinator import Coordinator, RoutingPolicy
from frontdesk.config import ConfigError, load_settings
from frontdesk.contracts import CustomerProfile, DraftReply, IntentPrediction, RoutingContext
from frontdesk.rules import BusinessHours, default_rules
from frontdesk.runtime.services import policy_of

MONDAY_NOON_NY = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
SUNDAY_NY = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)
MONDAY_NIGHT_NY = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # 22:00 Monday in New York


def context(
    text: str = "how do returns work?",
    label: str = "return_item",
    confidence: float = 0.95,
    *,
    grounded: bool = True,
    draft_confidence: float | None = None,
    tier: str | None = None,
    amount: float | None = None,
    earlier: list[float] | None = None,
    at: datetime = MONDAY_NOON_NY,
) -> RoutingContext:
    return RoutingContext(
        text=text,
        intent=IntentPrediction(
            label=label, confidence=confidence, model_version="t", out_of_scope=False
        ),
        draft=DraftReply(
            text="x", kind="knowledge", grounded=grounded, agent="t", confidence=draft_confidence
        ),
        at=at,
        customer=None
        if tier is None
        else CustomerProfile(user_id="u1", name="Ann Lee", email="a@example.com", tier=tier),
        amount_at_stake=amount,
        earlier_confidences=earlier or [],
    )


def coordinator(rules: list | None = None, hours: BusinessHours | None = None) -> Coordinator:
    return Coordinator(
        RoutingPolicy(
            0.9,
            0.7,
            frozenset({"contact_human"}),
            tuple(default_rules() if rules is None else rules),
            hours or BusinessHours(),
        )
    )


@pytest.mark.parametrize(
    ("confidence", "tier", "rule"),
    [
        (0.95, "auto", "confidence.auto"),
        (0.9, "human", "confidence.human"),  # "above 0.9" is strict
        (0.8, "human", "confidence.human"),
        (0.7, "human", "confidence.human"),
        # An unlikely draft says nothing about how hard the case is: a person, not a specialist.
        (0.69, "human", "confidence.low"),
        (0.1, "human", "confidence.low"),
    ],
)
def test_confidence_tiers(confidence: float, tier: str, rule: str) -> None:
    decision = coordinator([]).decide(context(confidence=confidence))
    assert decision.tier == tier
    assert [hit.rule for hit in decision.rules] == [rule]
    assert decision.rules[0].inputs == {"label": "return_item", "confidence": confidence}


def test_a_dialogue_turn_is_judged_by_the_dialogue() -> None:
    decision = coordinator([]).decide(context("yes", "out_of_scope", 0.2, draft_confidence=1.0))
    assert decision.tier == "auto" and decision.confidence == 1.0


# every rule type: (context, the rule that must fire, the tier)
RULE_TABLE = [
    (context("I will sue you", "complaint", 0.95), "text_matches:legal threat", "specialist"),
    (context("my lawyer will call", "track_order"), "text_matches:legal threat", "specialist"),
    (context("terrible service", "complaint"), "intent_in:sensitive request", "specialist"),
    (context("delete my data", "delete_account"), "intent_in:sensitive request", "specialist"),
    (context(amount=250.01), "amount_over:large amount", "specialist"),
    (context(tier="vip"), "customer_tier_in:key account", "human"),
    (context(tier="enterprise"), "customer_tier_in:key account", "human"),
    (context(confidence=0.5, earlier=[0.6]), "low_confidence_streak:repeated uncertainty",
     "human"),
    (context(grounded=False), "guardrail_tripped:guardrail", "human"),
    (context("talk to a human", "contact_human", 0.99), "intent.handoff", "human"),
]  # fmt: skip


@pytest.mark.parametrize(("ctx", "rule", "tier"), RULE_TABLE)
def test_each_rule_type_fires_and_records_its_inputs(
    ctx: RoutingContext, rule: str, tier: str
) -> None:
    decision = coordinator().decide(ctx)
    fired = {hit.rule: hit for hit in decision.rules}
    assert rule in fired
    assert fired[rule].inputs
    assert decision.tier == tier


# and the near misses that must not fire
QUIET_TABLE = [
    (context("do you have suede boots or a courtesy discount?"), "text_matches:legal threat"),
    (context(amount=250.0), "amount_over:large amount"),
    (context(tier="standard"), "customer_tier_in:key account"),
    (context(confidence=0.5, earlier=[0.95]), "low_confidence_streak:repeated uncertainty"),
    (context(confidence=0.5), "low_confidence_streak:repeated uncertainty"),
    (context(label="refund_status"), "intent_in:sensitive request"),
]


@pytest.mark.parametrize(("ctx", "rule"), QUIET_TABLE)
def test_rules_stay_quiet_when_their_condition_does_not_hold(
    ctx: RoutingContext, rule: str
) -> None:
    assert rule not in {hit.rule for hit in coordinator().decide(ctx).rules}


@pytest.mark.parametrize(
    ("at", "fires"), [(MONDAY_NOON_NY, False), (SUNDAY_NY, True), (MONDAY_NIGHT_NY, True)]
)
def test_business_hours_rule(at: datetime, fires: bool) -> None:
    rule = {"name": "after hours", "when": "outside_business_hours", "tier": "human"}
    settings = load_settings(routing={"rules": [rule]})
    decision = coordinator(settings.routing.rules).decide(context(at=at))
    assert ("outside_business_hours:after hours" in {h.rule for h in decision.rules}) is fires
    assert decision.tier == ("human" if fires else "auto")


# precedence: the most severe tier wins; every fired rule is kept, in order
PRECEDENCE_TABLE = [
    (context(tier="vip", amount=900), "specialist",
     ["confidence.auto", "amount_over:large amount", "customer_tier_in:key account"]),
    (context("I'll sue", confidence=0.8, tier="vip"), "specialist",
     ["confidence.human", "text_matches:legal threat", "customer_tier_in:key account"]),
    (context(confidence=0.5, tier="vip"), "human",
     ["confidence.low", "customer_tier_in:key account"]),
    (context("talk to a human", "contact_human", 0.99, tier="vip"), "human",
     ["confidence.auto", "intent.handoff", "customer_tier_in:key account"]),
    (context(grounded=False, tier="vip", amount=10), "human",
     ["confidence.auto", "customer_tier_in:key account", "guardrail_tripped:guardrail"]),
]  # fmt: skip


@pytest.mark.parametrize(("ctx", "tier", "rules"), PRECEDENCE_TABLE)
def test_precedence(ctx: RoutingContext, tier: str, rules: list[str]) -> None:
    decision = coordinator().decide(ctx)
    assert decision.tier == tier
    assert [hit.rule for hit in decision.rules] == rules


def test_a_message_in_another_language_goes_to_a_person_not_a_specialist() -> None:
    foreign = context("Ich will meinen Anwalt anrufen, sue", "complaint", 0.99)
    foreign = foreign.model_copy(
        update={"intent": foreign.intent.model_copy(update={"language": "de"})}
    )
    decision = coordinator().decide(foreign)
    assert decision.tier == "human"
    assert [hit.rule for hit in decision.rules] == ["confidence.auto", "language.unsupported"]


@pytest.mark.parametrize(("action_probability", "fires"), [(None, True), (0.9, True), (0.1, False)])
def test_a_sensitive_intent_rule_waits_for_a_request_to_act(
    action_probability: float | None, fires: bool
) -> None:
    asked = context("what happens to my data if I close my account?", "delete_account")
    asked = asked.model_copy(
        update={
            "intent": asked.intent.model_copy(update={"action_probability": action_probability})
        }
    )
    decision = coordinator().decide(asked)
    assert ("intent_in:sensitive request" in {hit.rule for hit in decision.rules}) is fires
    assert decision.tier == ("specialist" if fires else "auto")


def test_ungrounded_drafts_never_go_out_even_without_the_guardrail_rule() -> None:
    decision = coordinator([]).decide(context(grounded=False))
    assert (decision.tier, decision.rules[-1].rule) == ("human", "draft.ungrounded")


def test_rules_come_from_a_rules_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[[rules]]\nname = "refund fraud words"\nwhen = "text_matches"\n'
        'pattern = "chargeback"\ntier = "specialist"\n'
    )
    settings = load_settings(routing={"rules_file": str(rules)})
    assert [rule.name for rule in settings.routing.rules] == ["refund fraud words"]
    decision = coordinator(settings.routing.rules).decide(context("I'll file a chargeback"))
    assert decision.tier == "specialist"


@pytest.mark.parametrize(
    ("routing", "message"),
    [
        ({"rules": [{"name": "x", "when": "moon_phase", "tier": "human"}]}, "does not match any"),
        ({"rules": [{"name": "x", "when": "intent_in", "intent": ["a"], "tier": "human"}]},
         "remove it or check its spelling"),
        ({"rules": [{"name": "x", "when": "text_matches", "pattern": "(", "tier": "human"}]},
         "not a regular expression"),
        ({"rules": [{"name": "x", "when": "amount_over", "amount": 100, "tier": "auto"}]},
         "routing.rules.0.amount_over.tier"),
        ({"human_threshold": 0.95}, "must be below auto_threshold"),
        ({"auto_threshold": 0.6, "human_threshold": 0.7}, "must be below auto_threshold"),
        ({"business_hours": {"open": "20:00", "close": "08:00"}}, "must be before close"),
        ({"business_hours": {"timezone": "Mars/Olympus"}}, "unknown time zone"),
        ({"rules_file": "/nonexistent/rules.toml"}, "cannot be read"),
    ],
)  # fmt: skip
def test_bad_rules_stop_start_up_with_a_clear_message(routing: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=r"Fix:|rules_file") as caught:
        load_settings(routing=routing)
    assert message in str(caught.value)


def test_unknown_key_in_a_rules_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nname = "x"\nwhen = "intent_in"\nintents = ["a"]\ntier = "human"\n'
                     "[extra]\nkey = 1\n")  # fmt: skip
    with pytest.raises(ConfigError, match=r"unknown keys \['extra'\]"):
        load_settings(routing={"rules_file": str(rules)})


def test_intent_rules_apply_to_knowledge_drafts_with_their_own_confidence() -> None:
    context = RoutingContext(
        text="I want my account and all my data deleted",
        intent=IntentPrediction(
            label="delete_account", confidence=0.97, model_version="t", out_of_scope=False
        ),
        draft=DraftReply(
            text="You can delete your account in settings.",
            kind="knowledge",
            grounded=True,
            agent="response-agent/extractive-2",
            confidence=0.95,
        ),
        at=datetime.now(UTC),
    )
    decision = Coordinator(policy_of(load_settings())).decide(context)
    assert decision.tier == "specialist"
    assert any(hit.rule.startswith("intent_in") for hit in decision.rules), decision.rules

"""Guardrails on the project's cases, and the coordinator never sending a tripped turn itself."""

from __future__ import annotations

import pytest

from frontdesk.agents.coordinator import Coordinator, RoutingPolicy
from frontdesk.contracts import RoutingContext
from frontdesk.guardrails import Guardrails, find_pii, redact
from frontdesk.guardrails.grounding import support
from frontdesk.guardrails.pii import luhn_valid
from frontdesk.observability.logging import redact_personal_data
from frontdesk.rules import default_rules
from guardrail_cases import CASES, NOW, PII_TEXTS, RETURNS, Case

GUARDRAILS = Guardrails()


def test_the_suite_has_enough_cases_of_every_kind() -> None:
    categories = {case.category for case in CASES}
    assert categories == {"injection", "off_topic", "ungrounded", "promise", "pii"}
    assert len(CASES) + len(PII_TEXTS) >= 40
    assert all(any(c.trips for c in CASES if c.category == k) for k in categories)
    assert all(any(not c.trips for c in CASES if c.category == k) for k in categories)


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.category}:{case.name}")
def test_case_trips_exactly_the_expected_guardrails(case: Case) -> None:
    verdicts = GUARDRAILS.check(case.subject())
    assert {v.guardrail for v in verdicts if v.tripped} == case.trips
    assert all(v.reason for v in verdicts)


@pytest.mark.parametrize(("text", "kinds"), PII_TEXTS, ids=[t for t, _ in PII_TEXTS])
def test_personal_data_is_found_and_nothing_else(text: str, kinds: list[str]) -> None:
    assert [match.kind for match in find_pii(text)] == kinds


def test_redaction_replaces_each_piece_by_its_kind() -> None:
    text = "I'm ana@example.com, card 4111-1111-1111-1111, at 12 Oak Street; order #W2492340"
    assert redact(text) == "I'm [EMAIL], card [CARD], at [ADDRESS]; order #W2492340"


def test_luhn() -> None:
    assert luhn_valid("4111111111111111") and luhn_valid("79927398713")
    assert not luhn_valid("4111111111111112")


def test_support_needs_the_numbers_and_the_polarity_of_the_passage() -> None:
    assert support("Unused items can be returned within 30 days.", [RETURNS]).supported
    assert not support("Unused items can be returned within 90 days.", [RETURNS]).supported
    assert not support("Worn items can be returned.", [RETURNS]).supported


def test_logs_never_carry_personal_data() -> None:
    event = {
        "event": "message.failed",
        "error": "no customer with email ana@example.com",
        "fields": {"phone": "+47 912 34 567", "cards": ["4111 1111 1111 1111"]},
        "attempt": 2,
    }
    cleaned = redact_personal_data(None, "info", event)
    assert cleaned == {
        "event": "message.failed",
        "error": "no customer with email [EMAIL]",
        "fields": {"phone": "[PHONE]", "cards": ["[CARD]"]},
        "attempt": 2,
    }


def tripped_cases() -> list[Case]:
    return [case for case in CASES if case.trips]


@pytest.mark.parametrize("rules", ["default", "none"])
def test_no_tripped_case_is_ever_routed_to_auto(rules: str) -> None:
    """Even at full confidence, and even when the configured rules leave the guardrail out."""
    policy = RoutingPolicy(
        auto_threshold=0.9,
        human_threshold=0.7,
        handoff_intents=frozenset(),
        rules=tuple(default_rules()) if rules == "default" else (),
    )
    coordinator = Coordinator(policy)
    for case in tripped_cases():
        subject = case.subject()
        confident = subject.intent.model_copy(update={"confidence": 0.99})
        draft = subject.draft.model_copy(update={"confidence": None})
        context = RoutingContext(
            text=case.text,
            intent=confident,
            draft=draft,
            at=NOW,
            guardrails=GUARDRAILS.check(subject),
        )
        decision = coordinator.decide(context)
        assert decision.tier != "auto", case.name
        assert any("guardrail" in hit.rule or "ungrounded" in hit.rule for hit in decision.rules)


def test_a_passing_case_can_still_be_sent_automatically() -> None:
    coordinator = Coordinator(RoutingPolicy(0.9, 0.7, frozenset(), tuple(default_rules())))
    case = next(c for c in CASES if c.name == "paraphrase")
    subject = case.subject()
    context = RoutingContext(
        text=case.text,
        intent=subject.intent.model_copy(update={"confidence": 0.99}),
        draft=subject.draft,
        at=NOW,
        guardrails=GUARDRAILS.check(subject),
    )
    assert coordinator.decide(context).tier == "auto"

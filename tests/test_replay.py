"""The replay's judge and figures on small sets written here, and one replay through the real
pipeline (no test reads ../shared)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from frontdesk.config import load_settings
from frontdesk.contracts import (
    DecisionRecord,
    DraftReply,
    IntentPrediction,
    RoutingDecision,
    Source,
)
from frontdesk.evaluation.dataset import EvalItem
from frontdesk.evaluation.judge import foreign_mentions, is_right_reply
from frontdesk.evaluation.metrics import (
    ItemOutcome,
    all_to_a_human,
    calibration_error,
    figures,
    intent_confidence_only,
    risk_coverage,
)
from frontdesk.evaluation.replay import replay, report, write_risk_coverage

REFUNDS = "refund-timing#How long does a refund take?"


def item(**fields: Any) -> EvalItem:
    defaults: dict[str, Any] = {
        "id": "x",
        "kind": "information",
        "turns": ["how long do refunds take"],
        "intent": "refund_status",
        "sections": [REFUNDS],
        "needs": "answer",
        "acceptable_tiers": ["auto", "human"],
        "must_contain": ["5 business days"],
    }
    return EvalItem(**{**defaults, **fields})


def record(
    text: str, kind: str = "knowledge", label: str = "refund_status", heading: str = ""
) -> DecisionRecord:
    sources = [
        Source(
            chunk_id="c1",
            document="demo_kb/refund-timing.md",
            title="Refund timing",
            heading=heading,
            score=0.9,
        )
    ] if heading else []  # fmt: skip
    return DecisionRecord(
        message_id="m",
        intent=IntentPrediction(
            label=label, confidence=0.95, out_of_scope=False, model_version="test"
        ),
        draft=DraftReply(text=text, kind=kind, sources=sources, grounded=True, agent="t"),  # type: ignore[arg-type]
        decision=RoutingDecision(tier="auto", confidence=0.95, rules=[]),
        latency_ms={},
        created_at=datetime(2026, 12, 2, tzinfo=UTC),
    )


ASKED = "Refund timing › How long does a refund take?"
SAYS = "Refunds take 5 business days."
NO_FACTS: dict[str, Any] = {"sections": [], "must_contain": []}
ACTION = item(kind="action", needs="action", **NO_FACTS)
DECLINE = item(kind="out_of_scope", needs="decline", intent="out_of_scope", **NO_FACTS)
HELLO = item(kind="small_talk", intent="small_talk", **NO_FACTS)
PERSON = item(
    kind="person_request", needs="person", acceptable_tiers=["human"], intent="contact_human",
    **NO_FACTS,
)  # fmt: skip
AUTH = "First I need to confirm who you are."


@pytest.mark.parametrize(
    ("the_item", "the_record", "right"),
    [
        (item(), record(SAYS, heading=ASKED), True),
        (item(), record(SAYS, heading="Refund timing › Price adjustments"), False),
        (item(), record("Refunds are quick.", heading=ASKED), False),
        (item(), record(AUTH, kind="action"), False),
        (item(must_not_contain=["30 days"]), record(f"{SAYS} Or 30 days.", heading=ASKED), False),
        (ACTION, record(AUTH, kind="action"), True),
        (DECLINE, record("Sorry, orders only.", kind="template", label="out_of_scope"), True),
        (DECLINE, record("Here is a recipe.", heading="Refund timing › x"), False),
        (HELLO, record("Hi! How can I help?", kind="template", label="small_talk"), True),
        (PERSON, record("Passing you on.", kind="template", label="contact_human"), False),
    ],
)
def test_a_reply_is_right_when_the_customer_gets_what_they_asked(
    the_item: EvalItem, the_record: DecisionRecord, right: bool
) -> None:
    assert is_right_reply(the_item, the_record) is right


def test_someone_elses_order_or_email_is_a_disclosure() -> None:
    reply = (
        "Your orders are #W1111111 and #W2222222; we wrote to ann@example.com and bob@example.com."
    )
    found = foreign_mentions(reply, "it's ann@example.com about W2222222", ["#W1111111"], None)
    assert found == ["bob@example.com"]
    assert foreign_mentions(reply, "", ["#W1111111", "#W2222222"], "ANN@example.com") == [
        "bob@example.com"
    ]


def outcome(
    tier: str,
    right: bool,
    confidence: float,
    *,
    kind: str = "information",
    forced: str = "auto",
    intent_confidence: float | None = None,
    acceptable: tuple[str, ...] = ("auto", "human"),
    disclosures: int = 0,
) -> ItemOutcome:
    return ItemOutcome(
        item_id=f"{tier}-{right}-{confidence}", kind=kind, intent="refund_status",
        predicted_intent="refund_status", acceptable_tiers=acceptable, tier=tier,  # type: ignore[arg-type]
        confidence=confidence, intent_confidence=intent_confidence or confidence,
        forced_tier=forced, right_reply=right, disclosures=disclosures,  # type: ignore[arg-type]
    )  # fmt: skip


SET = [
    outcome("auto", True, 0.97),
    outcome("auto", True, 0.95),
    outcome("auto", False, 0.93, disclosures=1),
    outcome("human", True, 0.8),
    outcome("specialist", False, 0.4),
    outcome("human", False, 0.99, kind="person_request", forced="human", acceptable=("human",)),
]


def test_figures_count_what_a_support_team_sees() -> None:
    seen = figures(SET)
    assert (seen["items"], seen["routine"], seen["automatic"]) == (6, 5, 3)
    assert (seen["right_automatic"], seen["wrong_automatic"]) == (2, 1)
    assert seen["automation_rate"] == pytest.approx(2 / 5, abs=1e-4)
    assert seen["wrong_automatic_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert seen["routine_to_specialist"] == pytest.approx(1 / 5, abs=1e-4)
    assert seen["to_human"] == pytest.approx(2 / 6, abs=1e-4)
    assert seen["cross_customer_disclosures"] == 1
    assert seen["acceptable_tier"] == pytest.approx(5 / 6, abs=1e-4)


def test_baselines_are_scored_on_the_same_drafts() -> None:
    everyone = figures(SET, all_to_a_human)
    assert (everyone["automatic"], everyone["automation_rate"], everyone["to_human"]) == (0, 0, 1)
    by_intent = figures(SET, intent_confidence_only(0.9, 0.7))
    # 0.97, 0.95, 0.93 go out; 0.8 to a human; 0.4 to a specialist; the person request is held
    # to a human by its rule although its intent confidence is 0.99.
    assert (by_intent["automatic"], by_intent["to_specialist"]) == (
        3,
        pytest.approx(1 / 6, abs=1e-4),
    )


def test_risk_coverage_moves_the_threshold_over_drafts_no_rule_holds() -> None:
    curve = risk_coverage(SET, lambda o: o.confidence)
    assert [point["threshold"] for point in curve] == [0.97, 0.95, 0.93, 0.8, 0.4]
    assert [point["wrong_automatic_rate"] for point in curve] == [0, 0, 0.3333, 0.25, 0.4]
    assert curve[3]["automation_rate"] == pytest.approx(3 / 5, abs=1e-4)


def test_calibration_error_of_honest_and_of_overconfident_scores() -> None:
    honest = [outcome("auto", i < 8, 0.8) for i in range(10)]
    assert calibration_error(honest) == pytest.approx(0.0, abs=1e-9)
    overconfident = [outcome("auto", i < 5, 0.95) for i in range(10)]
    assert calibration_error(overconfident) == pytest.approx(0.45, abs=1e-4)


def test_a_replay_through_the_real_pipeline(data_dir: Path, tmp_path: Path) -> None:
    items = [
        item(id="person", kind="person_request", turns=["I want to talk to a real person please"],
             intent="contact_human", sections=[], needs="person", acceptable_tiers=["human"],
             must_contain=[]),
        item(id="chat", kind="action", turns=["where is my order?", "W1234567"],
             intent="track_order", sections=[], needs="action", must_contain=[]),
    ]  # fmt: skip
    settings = load_settings(data_dir=data_dir, knowledge={"dense": "off"})
    seen: list[int] = []
    outcomes = replay(items, settings, lambda done, total: seen.append(done))
    assert seen == [1, 2]
    person, chat = outcomes
    assert (person.item_id, person.tier, person.right_reply) == ("person", "human", False)
    assert person.forced_tier == "human"  # the hand-off rule, whatever the confidence
    assert chat.predicted_intent == "track_order"  # the first turn's reading
    assert chat.disclosures == 0
    figures_ = report(outcomes, settings)
    assert figures_["system"]["overall"]["items"] == 2
    assert set(figures_["baselines"]) == {"all_to_a_human", "intent_confidence_only"}
    write_risk_coverage(figures_["risk_coverage"], tmp_path / "curve.png")
    assert (tmp_path / "curve.png").stat().st_size > 0
    # The configured store is never written: the replay's own was thrown away.
    database = data_dir / "frontdesk.db"
    if database.exists():
        with sqlite3.connect(database) as connection:
            assert connection.execute("SELECT count(*) FROM conversations").fetchone() == (0,)


def test_replay_refuses_a_file_it_cannot_read(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from frontdesk.cli.main import app

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n', encoding="utf-8")
    runner = CliRunner()
    for path in (bad, tmp_path / "missing.jsonl"):
        result = runner.invoke(app, ["eval", "replay", str(path)])
        assert result.exit_code == 2, result.output

"""Reply confidence on small data written here: the automatic threshold, the per-kind calibrator
(its choice of method, its honesty on data drawn from a known model, its JSON and registry), the
scorer that puts it on drafts, and the inbox's verdicts as fitting rows."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from frontdesk.confidence.calibrator import (
    MIN_ROWS_PER_KIND,
    LabelledReply,
    ReplyCalibrator,
    _fit_kind,
    choose_threshold,
    fit,
)
from frontdesk.confidence.features import reply_features, stored_features
from frontdesk.confidence.registry import CalibrationError, calibrator_dir, load, load_current, save
from frontdesk.confidence.scorer import ReplyScorer
from frontdesk.contracts import DraftReply, IntentAlternative, IntentPrediction
from frontdesk.evaluation.calibration import inbox_rows
from frontdesk.store.handoffs import ReplyVerdict
from frontdesk.training.calibration import expected_calibration_error

METHODS = {"logistic", "logistic+isotonic"}


def threshold(probability: list[float], right: list[bool], rate: float) -> float:
    return choose_threshold(np.array(probability), np.array(right), rate)


# ---- choose_threshold -------------------------------------------------------------------------

LADDER = ([0.9, 0.8, 0.7, 0.6, 0.5], [True, True, False, True, False])


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        (0.0, 0.7),  # only 0.9 and 0.8 are sent: both right
        (0.25, 0.5),  # 0.9-0.6 sent, one of four wrong; sending 0.5 too would be 2 of 5
        (0.4, 0.0),  # everything: 2 of 5 wrong
    ],
)
def test_the_threshold_is_the_lowest_meeting_the_target(rate: float, expected: float) -> None:
    assert threshold(*LADDER, rate) == expected


def test_a_looser_target_never_gives_a_higher_threshold() -> None:
    found = [threshold(*LADDER, rate) for rate in (0.0, 0.1, 0.25, 0.3, 0.4, 1.0)]
    assert found == sorted(found, reverse=True)
    assert found[0] > found[-1]


def test_nothing_qualifies_gives_one() -> None:
    assert threshold([0.9, 0.4], [False, False], 0.1) == 1.0
    assert threshold([], [], 0.1) == 1.0


def test_ties_are_not_split() -> None:
    # Sending only the right one of two equal scores would meet a zero target, but no threshold
    # sends one of them without the other.
    assert threshold([0.8, 0.8], [True, False], 0.0) == 1.0
    assert threshold([0.9, 0.8, 0.8, 0.3], [True, True, False, True], 0.0) == 0.8
    # The whole tie is judged together: one wrong of three is within a third.
    assert threshold([0.8, 0.8, 0.8, 0.3], [False, True, True, False], 0.34) == 0.3


@pytest.mark.parametrize("seed", range(8))
def test_the_threshold_agrees_with_trying_every_one(seed: int) -> None:
    """Against brute force: every distinct score (and 0) as a threshold, drafts strictly above
    it sent; the lowest whose sent drafts are wrong at most the target rate."""
    rng = np.random.default_rng(seed)
    probability = np.round(rng.uniform(size=40), 1)  # coarse: many ties
    right = rng.uniform(size=40) < probability
    rate = float(rng.choice([0.0, 0.05, 0.1, 0.2, 0.3]))
    qualifying = [
        float(t)
        for t in np.unique(np.append(probability, 0.0))
        if (probability > t).any() and (~right[probability > t]).mean() <= rate
    ]
    expected = min(qualifying) if qualifying else 1.0
    assert choose_threshold(probability, right, rate) == pytest.approx(expected)


# ---- fit ---------------------------------------------------------------------------------------


def separable_rows(n: int = 200, seed: int = 0, kind: str = "knowledge") -> list[LabelledReply]:
    """`match` separates right from wrong (with some overlap); `noise` says nothing."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        right = bool(i % 2)
        match = rng.normal(1.0 if right else -1.0, 0.8)
        rows.append(
            LabelledReply(
                kind=kind,  # type: ignore[arg-type]
                features={"match": float(match), "noise": float(rng.normal())},
                right=right,
                may_send=i % 10 != 0,
            )
        )
    return rows


@pytest.fixture(scope="module")
def fitted() -> tuple[ReplyCalibrator, list[LabelledReply]]:
    rows = separable_rows() + [
        LabelledReply("template", {"template_greeting": 1.0}, right=True) for _ in range(30)
    ]
    return fit(rows, 0.05, "v-test"), rows


def test_probabilities_follow_the_separating_feature(
    fitted: tuple[ReplyCalibrator, list[LabelledReply]],
) -> None:
    calibrator, _ = fitted
    assert calibrator.method in METHODS
    grid = [calibrator.probability("knowledge", {"match": m, "noise": 0.0}) for m in
            np.linspace(-3, 3, 25)]  # fmt: skip
    assert grid == sorted(grid)
    assert grid[0] < 0.1 and grid[-1] > 0.9
    # An unseen feature is ignored, a missing one read as 0.
    assert calibrator.probability("knowledge", {"match": 2.0, "other": 5.0}) == pytest.approx(
        calibrator.probability("knowledge", {"match": 2.0, "noise": 0.0})
    )
    assert calibrator.probability("action", {"match": 2.0}) == 0.0  # a kind never fitted


def test_metadata_says_what_it_was_fitted_on(
    fitted: tuple[ReplyCalibrator, list[LabelledReply]],
) -> None:
    calibrator, rows = fitted
    meta = calibrator.metadata
    # Fitted on the drafts confidence routes: every tenth row is held to a person by rules.
    assert meta["rows"] + meta["rows_held_by_rules"] == len(rows) == 230
    sendable = [row for row in rows if row.may_send]
    assert meta["rows"] == len(sendable) < len(rows)
    assert meta["rows_by_kind"] == {
        kind: sum(row.kind == kind for row in sendable) for kind in ("knowledge", "template")
    }
    losses = meta["cross_validated_log_loss"]
    assert {name.split(" C=")[0] for name in losses} == METHODS
    chosen = losses[f"{calibrator.method} C={meta['regularization']}"]
    assert chosen == min(losses.values())
    assert meta["max_wrong_auto_rate"] == 0.05
    # Held-out (probability, right) of the rows rules let the bot send, in order.
    assert len(meta["held_out"]) == meta["rows"]
    assert [r for _, r in meta["held_out"]] == [int(row.right) for row in sendable]
    assert all(0.0 <= p <= 1.0 for p, _ in meta["held_out"])
    json.dumps(meta)  # plain JSON


def test_the_threshold_can_be_chosen_again_for_another_target(
    fitted: tuple[ReplyCalibrator, list[LabelledReply]],
) -> None:
    calibrator, _ = fitted
    assert calibrator.threshold_for(0.05) == calibrator.auto_threshold
    found = [calibrator.threshold_for(rate) for rate in (0.0, 0.01, 0.05, 0.1, 0.2, 0.5)]
    assert found == sorted(found, reverse=True)
    assert found[0] > found[-1]
    # The held-out probabilities, not those of a model fitted on the same rows, decide it.
    held_out = np.array(calibrator.metadata["held_out"], dtype=float)
    assert calibrator.threshold_for(0.1) == choose_threshold(
        held_out[:, 0], held_out[:, 1].astype(bool), 0.1
    )


def test_one_class_or_few_rows_give_a_constant(
    fitted: tuple[ReplyCalibrator, list[LabelledReply]],
) -> None:
    calibrator, _ = fitted
    template = calibrator.kinds["template"]
    assert template.base_rate == 1.0
    assert calibrator.probability("template", {"template_greeting": 0.0}) == 1.0
    few = [
        LabelledReply("action", {"x": float(i)}, right=i < 3) for i in range(MIN_ROWS_PER_KIND - 2)
    ]
    small = fit(few, 0.05, "v-few")
    assert small.kinds["action"].base_rate == pytest.approx(3 / len(few))
    assert small.probability("action", {"x": 0.0}) == small.probability("action", {"x": 99.0})


def test_a_feature_constant_in_the_fitting_rows_moves_nothing() -> None:
    """0.7 summed 200 times is not 140 in floating point: the column's std is rounding error,
    which must not turn another value of it (or its absence) into a certainty."""
    rows = [
        LabelledReply(row.kind, {**row.features, "constant": 0.7}, row.right)
        for row in separable_rows()
    ]
    model = _fit_kind(rows, "logistic", 1.0)
    base = {"match": -1.0, "noise": 0.0, "constant": 0.7}
    expected = model.probability(base)
    assert expected < 0.3
    for other in ({**base, "constant": 0.0}, {**base, "constant": 0.9}, {"match": -1.0}):
        assert model.probability(other) == pytest.approx(expected, abs=0.01)


def test_calibrated_on_data_from_a_known_model() -> None:
    """Drawn from a known logistic model: on a fresh sample the fitted probabilities are right as
    often as they say (and an overconfident reading of the same model is not)."""
    rng = np.random.default_rng(7)

    def sample(n: int) -> tuple[np.ndarray, np.ndarray]:
        x = rng.normal(size=(n, 2))
        truth = 1 / (1 + np.exp(-(1.5 * x[:, 0] - 1.0 * x[:, 1] + 0.3)))
        return x, rng.uniform(size=n) < truth

    x, right = sample(3000)
    rows = [
        LabelledReply("knowledge", {"a": float(a), "b": float(b)}, right=bool(r))
        for (a, b), r in zip(x, right, strict=True)
    ]
    calibrator = fit(rows, 0.05, "v-honest")
    fresh, fresh_right = sample(5000)
    probability = np.array(
        [calibrator.probability("knowledge", {"a": a, "b": b}) for a, b in fresh]
    )
    assert expected_calibration_error(probability, fresh_right.astype(float)) < 0.05
    overconfident = 1 / (1 + np.exp(-3 * (1.5 * fresh[:, 0] - 1.0 * fresh[:, 1] + 0.3)))
    assert expected_calibration_error(overconfident, fresh_right.astype(float)) > 0.05


# ---- JSON and registry -------------------------------------------------------------------------


def both_methods() -> ReplyCalibrator:
    """A calibrator holding a logistic, an isotonic and a constant kind."""
    rows = separable_rows()
    return ReplyCalibrator(
        version="v-both",
        method="logistic+isotonic",
        kinds={
            "knowledge": _fit_kind(rows, "logistic+isotonic", 1.0),
            "action": _fit_kind(separable_rows(seed=1, kind="action"), "logistic", 1.0),
            "template": _fit_kind(rows[:3], "logistic", 1.0),
        },
        auto_threshold=0.8,
        metadata={"rows": 403, "held_out": [[0.9, 1], [0.2, 0]]},
    )


def probes() -> list[dict[str, float]]:
    return [{"match": m, "noise": n} for m in (-2.0, -0.3, 0.0, 0.4, 2.5) for n in (-1.0, 1.0)]


def test_json_round_trip_gives_the_same_probabilities(
    fitted: tuple[ReplyCalibrator, list[LabelledReply]],
) -> None:
    for calibrator in (fitted[0], both_methods()):
        back = ReplyCalibrator.from_json(json.loads(json.dumps(calibrator.to_json())))
        assert (back.version, back.method, back.auto_threshold) == (
            calibrator.version,
            calibrator.method,
            calibrator.auto_threshold,
        )
        assert back.metadata == calibrator.metadata
        for kind in ("knowledge", "action", "template"):
            for features in probes():
                assert back.probability(kind, features) == calibrator.probability(kind, features)
        assert back.threshold_for(0.2) == calibrator.threshold_for(0.2)
    assert both_methods().kinds["knowledge"].isotonic is not None


def test_the_registry_serves_the_promoted_version(tmp_path: Path) -> None:
    assert load_current(tmp_path) is None
    first = both_methods()
    path = save(tmp_path, first, promote=True)
    assert path == calibrator_dir(tmp_path) / "v-both.json"
    current = load_current(tmp_path)
    assert current is not None and current.version == "v-both"
    assert [current.probability("knowledge", f) for f in probes()] == [
        first.probability("knowledge", f) for f in probes()
    ]
    second = ReplyCalibrator("v-next", "logistic", first.kinds, 0.5, {})
    save(tmp_path, second, promote=False)
    current = load_current(tmp_path)
    assert current is not None and current.version == "v-both"
    assert load(tmp_path, "v-next").auto_threshold == 0.5
    save(tmp_path, second, promote=True)
    current = load_current(tmp_path)
    assert current is not None and current.version == "v-next"
    with pytest.raises(CalibrationError, match="no reply-confidence calibrator 'v-gone'"):
        load(tmp_path, "v-gone")


@pytest.mark.parametrize(
    "content", ["{not json", '{"version": "v"}', "[1, 2]", '{"version": "v", "method": "m", '
     '"auto_threshold": 0.5, "metadata": {}, "kinds": {"knowledge": {"surprise": 1}}}'],
)  # fmt: skip
def test_a_corrupt_calibrator_names_its_file(tmp_path: Path, content: str) -> None:
    path = save(tmp_path, both_methods(), promote=True)
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CalibrationError) as raised:
        load_current(tmp_path)
    assert str(path) in str(raised.value)


# ---- features and scorer ------------------------------------------------------------------------

TEXT = "Hi. How long does a refund take? And can I get it on a gift card?"


def intent(action_probability: float | None = 0.2, confidence: float = 0.7) -> IntentPrediction:
    return IntentPrediction(
        label="refund_status",
        confidence=confidence,
        model_version="test",
        out_of_scope=False,
        alternatives=[
            IntentAlternative(label="refund_status", confidence=confidence),
            IntentAlternative(label="return_item", confidence=0.2),
        ],
        action_probability=action_probability,
    )


def draft(**fields: object) -> DraftReply:
    defaults: dict[str, object] = {
        "text": "Refunds take 5 business days.",
        "kind": "knowledge",
        "grounded": True,
        "agent": "test",
        "signals": {"margin": 0.3, "retrieval": 0.6},
    }
    return DraftReply(**{**defaults, **fields})  # type: ignore[arg-type]


def test_features_of_a_draft() -> None:
    features = reply_features(intent(), draft(), TEXT)
    assert features["intent.confidence"] == 0.7
    assert features["intent.margin"] == pytest.approx(0.5)  # over the runner-up, not itself
    assert features["intent.action_probability"] == 0.2
    assert features["intent.unsupported_language"] == 0.0
    assert features["message.words"] == pytest.approx(math.log1p(len(TEXT.split())))
    assert features["message.sentences"] == 3.0
    assert features["message.questions"] == 2.0
    assert (features["grounded"], features["written_by_model"], features["in_dialogue"]) == (
        1.0,
        0.0,
        0.0,
    )
    assert (features["margin"], features["retrieval"]) == (0.3, 0.6)
    assert "intent.action_probability" not in reply_features(intent(None), draft(), TEXT)


def test_features_never_come_from_stale_signals() -> None:
    """A stored draft's signals may hold what an earlier scoring wrote: the intent's and the
    message's numbers and the draft's own flags are always read afresh."""
    stale = draft(
        grounded=False,
        signals={
            "intent.confidence": 0.01,
            "intent.action_probability": 0.99,
            "intent.surprise": 5.0,
            "message.words": 99.0,
            "grounded": 1.0,
            "written_by_model": 1.0,
            "in_dialogue": 1.0,
            "calibrated": 1.0,
            "margin": 0.3,
        },
    )
    features = reply_features(intent(None), stale, TEXT)
    assert features["intent.confidence"] == 0.7
    assert "intent.action_probability" not in features and "intent.surprise" not in features
    assert features["message.words"] == pytest.approx(math.log1p(len(TEXT.split())))
    assert (features["grounded"], features["written_by_model"], features["in_dialogue"]) == (
        0.0,
        0.0,
        0.0,
    )
    assert "calibrated" not in features
    assert features["margin"] == 0.3


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"confidence": 0.42}, 0.42),  # the drafting agent's own estimate
        ({"in_dialogue": True}, 1.0),  # an answer to what the agent asked
        ({}, 0.7),  # else the intent's confidence
    ],
)
def test_without_a_calibrator_a_draft_keeps_its_own_confidence(
    fields: dict[str, object], expected: float
) -> None:
    original = draft(**fields)
    scored = ReplyScorer(None).score(TEXT, intent(), original)
    assert scored.confidence == expected
    assert scored.signals["calibrated"] == 0.0
    assert stored_features(scored) == reply_features(intent(), original, TEXT)
    assert ReplyScorer(None).version is None


def knowledge_calibrator() -> ReplyCalibrator:
    """Fitted on the features the scorer computes: the section's margin separates right from
    wrong."""
    rng = np.random.default_rng(3)
    rows = []
    for i in range(120):
        right = bool(i % 2)
        signals = {"margin": float(rng.normal(0.4 if right else 0.05, 0.1)), "retrieval": 0.6}
        features = reply_features(intent(), draft(signals=signals), TEXT)
        rows.append(LabelledReply("knowledge", features, right))
    return fit(rows, 0.05, "v-scorer")


def test_with_a_calibrator_confidence_is_its_probability() -> None:
    calibrator = knowledge_calibrator()
    scorer = ReplyScorer(calibrator)
    assert scorer.version == "v-scorer"
    weak, strong = draft(signals={"margin": 0.02}), draft(signals={"margin": 0.5}, confidence=0.1)
    scored = [scorer.score(TEXT, intent(), d) for d in (weak, strong)]
    for original, result in zip((weak, strong), scored, strict=True):
        features = reply_features(intent(), original, TEXT)
        assert result.confidence == round(calibrator.probability("knowledge", features), 4)
        assert result.signals == {**features, "calibrated": 1.0}
        assert (result.text, result.kind, result.grounded) == (
            original.text,
            original.kind,
            original.grounded,
        )
    assert scored[0].confidence < 0.5 < scored[1].confidence  # its own 0.1 is not kept


def test_a_stored_draft_gives_back_the_features_it_was_scored_on() -> None:
    """Refitting from stored drafts sees the numbers the live draft was routed on, and scoring a
    stored draft again changes nothing."""
    calibrator = knowledge_calibrator()
    original = draft(signals={"margin": 0.3, "retrieval": 0.5})
    scored = ReplyScorer(calibrator).score(TEXT, intent(), original)
    kept = stored_features(scored)
    assert kept == reply_features(intent(), original, TEXT)
    assert round(calibrator.probability(scored.kind, kept), 4) == scored.confidence
    stored = DraftReply.model_validate_json(scored.model_dump_json())
    assert stored_features(stored) == kept
    again = ReplyScorer(calibrator).score(TEXT, intent(), stored)
    assert (again.confidence, again.signals) == (scored.confidence, scored.signals)


def test_inbox_verdicts_become_fitting_rows() -> None:
    scored = ReplyScorer(None).score(TEXT, intent(), draft())
    unscored = draft(signals={})
    verdicts = [
        ReplyVerdict("m1", TEXT, "refund_status", scored, right=True),
        ReplyVerdict("m2", TEXT, "refund_status", unscored, right=True),
        ReplyVerdict("m3", TEXT, "refund_status", scored.model_copy(update={"kind": "action"}),
                     right=False),
    ]  # fmt: skip
    rows = inbox_rows(verdicts)
    assert rows == [
        LabelledReply("knowledge", stored_features(scored), right=True, may_send=True),
        LabelledReply("action", stored_features(scored), right=False, may_send=True),
    ]
    assert "calibrated" not in rows[0].features

"""Intent training pipeline on small synthetic data the tests make themselves."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from frontdesk.cli.main import app
from frontdesk.config import get_settings
from frontdesk.training import models_dir
from frontdesk.training.calibration import (
    choose_calibrator,
    expected_calibration_error,
    fit_temperature,
    softmax,
)
from frontdesk.training.data import DataError, Example, read_examples, split_examples
from frontdesk.training.intent_model import OUT_OF_SCOPE, choose_threshold, train

TOPICS = {
    "track": ["parcel", "package", "shipment", "tracking", "courier"],
    "cancel": ["cancel", "abort", "stop", "call off", "revoke"],
    "refund": ["refund", "money back", "reimburse", "repayment", "credit back"],
    "invoice": ["invoice", "receipt", "bill", "vat document", "billing statement"],
}
FRAMES = ["please {w} {n}", "hey, {w} for order {n}?", "i need help: {w} #{n}", "{w} {n} asap thx"]
FAST = ("tfidf",)  # the sentence encoder has tests of its own
NOISE = ["volcano", "poetry", "quantum", "giraffe", "saxophone", "glacier", "chess", "nebula"]


def synthetic(rows_per_intent: int, seed: int, with_oos: bool = True) -> list[Example]:
    rng = random.Random(seed)
    examples = [
        Example(rng.choice(FRAMES).format(w=rng.choice(words), n=rng.randint(1, 10**6)), intent)
        for intent, words in TOPICS.items()
        for _ in range(rows_per_intent)
    ]
    if with_oos:
        examples += [
            Example(" ".join(rng.sample(NOISE, 3)) + f" {rng.randint(1, 999)}", OUT_OF_SCOPE)
            for _ in range(rows_per_intent)
        ]
    rng.shuffle(examples)
    return examples


@pytest.fixture(scope="module")
def synthetic_model():
    return train(synthetic(60, seed=1), features=FAST)


def test_training_learns_and_reports_validation_metrics(synthetic_model) -> None:
    held_out = synthetic(20, seed=2)
    predictions = synthetic_model.predict([e.text for e in held_out])
    accuracy = np.mean([p.label == e.intent for p, e in zip(predictions, held_out, strict=True)])
    assert accuracy > 0.9
    validation = synthetic_model.metadata["validation"]
    assert validation["rows"] == synthetic_model.metadata["rows"]["validation"] > 0
    assert {"accuracy", "macro_f1", "oos_recall", "oos_precision", "ece"} <= set(validation)
    assert synthetic_model.metadata["calibration"]["method"] in {"temperature", "isotonic"}
    assert all(p.model_version == synthetic_model.version for p in predictions)


def test_split_is_seeded_by_text_and_stable_when_rows_are_added() -> None:
    examples = synthetic(40, seed=3)
    train_rows, validation = split_examples(examples)
    assert 0.1 < len(validation) / len(examples) < 0.3
    assert not {e.text for e in train_rows} & {e.text for e in validation}
    _, validation_grown = split_examples([*examples, *synthetic(40, seed=4)])
    assert {e.text for e in validation} <= {e.text for e in validation_grown}


def test_temperature_scaling_recovers_a_known_temperature() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 4, size=(4000, 5))
    targets = np.array([rng.choice(5, p=row) for row in softmax(logits / 3.0)])
    calibrator = fit_temperature(logits, targets)
    assert calibrator.temperature == pytest.approx(3.0, rel=0.15)
    raw, fixed = softmax(logits), calibrator.probabilities(logits)
    correct = raw.argmax(1) == targets
    assert expected_calibration_error(fixed.max(1), correct) < 0.03
    assert expected_calibration_error(raw.max(1), correct) > 0.1


def test_calibrator_choice_uses_held_out_ece_and_rows_sum_to_at_most_one() -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 3, size=(1500, 4))
    targets = np.array([rng.choice(4, p=row) for row in softmax(logits / 2.0)])
    calibrator, scores = choose_calibrator(logits, targets)
    assert set(scores) == {"temperature", "isotonic"}
    assert calibrator.method == min(scores, key=scores.get)
    assert np.all(calibrator.probabilities(logits).sum(1) <= 1 + 1e-9)
    _, few = choose_calibrator(logits[:100], targets[:100])
    assert set(few) == {"temperature"}


def test_oos_threshold_is_the_best_trade_on_validation() -> None:
    truth = ["a", "a", "a", "a", OUT_OF_SCOPE, OUT_OF_SCOPE]
    top = ["a", "a", "a", "a", "a", "a"]
    confidence = np.array([0.9, 0.8, 0.7, 0.4, 0.5, 0.2])
    # Full recall costs one in-scope message; half the recall costs none.
    assert 0.5 < choose_threshold(top, confidence, truth, recall_target=1.0) <= 0.7
    assert 0.2 < choose_threshold(top, confidence, truth, recall_target=0.5) <= 0.4
    assert choose_threshold(top[:4], confidence[:4], truth[:4], recall_target=0.85) == 0.0


def test_unfamiliar_messages_fall_out_of_scope(synthetic_model) -> None:
    assert synthetic_model.oos_threshold > 0
    predictions = synthetic_model.predict(["giraffe nebula chess", "please refund 12"])
    assert predictions[0].out_of_scope and predictions[0].label == OUT_OF_SCOPE
    assert predictions[1].label == "refund" and not predictions[1].out_of_scope


BAD_INPUT = [
    "",
    "   ",
    "x" * 20_000,
    "😀🎉👍",
    "Где мой заказ?",
    "注文はどこですか",
    "مرحبا",
    "\x00\n\t",
]


def test_bad_input_never_crashes_and_is_not_confidently_in_scope(synthetic_model) -> None:
    for prediction in synthetic_model.predict(BAD_INPUT):
        assert prediction.out_of_scope or prediction.confidence < 0.5, prediction
        assert 0.0 <= prediction.confidence <= 1.0


def test_registry_round_trip_promote_and_rollback(tmp_path: Path, synthetic_model) -> None:
    data_dir = tmp_path / "data"
    assert models_dir.current_version(data_dir) is None
    models_dir.save(data_dir, synthetic_model)
    loaded = models_dir.load(data_dir, synthetic_model.version)
    texts = ["cancel order 5", "giraffe poetry"]
    assert loaded.predict(texts) == synthetic_model.predict(texts)
    other = train(synthetic(30, seed=5), features=FAST, regularization=(1.0,))
    models_dir.save(data_dir, other)
    models_dir.promote(data_dir, synthetic_model.version)
    models_dir.promote(data_dir, other.version)
    listed = models_dir.list_models(data_dir)
    assert {m["version"] for m in listed} == {synthetic_model.version, other.version}
    assert [m["version"] for m in listed if m["current"]] == [other.version]
    assert {"data_hash", "created_at", "features", "validation"} <= set(listed[0])
    assert models_dir.rollback(data_dir) == synthetic_model.version
    assert models_dir.load_active(data_dir).version == synthetic_model.version
    with pytest.raises(models_dir.RegistryError):
        models_dir.promote(data_dir, "no-such-version")


@pytest.mark.slow  # trains on the whole seed set
def test_retraining_does_not_promote_a_worse_model(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    examples = synthetic(60, seed=6)
    good = models_dir.train_and_register(data_dir, examples, "better", features=FAST)
    assert good.promoted
    # Regularised into near-uselessness: worse on the same held-back rows, so it must not serve.
    crippled = models_dir.train_and_register(
        data_dir,
        [*examples, Example("cancel it 7", "cancel")],
        features=FAST,
        regularization=(1e-4,),
    )
    assert not crippled.promoted and "kept" in crippled.reason
    assert crippled.candidate_accuracy < crippled.serving_accuracy
    assert models_dir.current_version(data_dir) == good.model.version
    more = [*examples, *synthetic(20, seed=10)]
    better = models_dir.train_and_register(data_dir, more, features=FAST)
    assert better.promoted and better.candidate_accuracy >= better.serving_accuracy
    assert models_dir.current_version(data_dir) == better.model.version


def test_reading_csv_and_json_with_an_oos_label(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.json"
    pairs.write_text(json.dumps([["hi there", "greet"], ["what is pi", "oos"]]))
    assert read_examples(pairs, oos_label="oos") == [
        Example("hi there", "greet"),
        Example("what is pi", OUT_OF_SCOPE),
    ]
    objects = tmp_path / "objects.json"
    objects.write_text(json.dumps([{"text": "a", "intent": "x"}, {"text": "b", "intent": "y"}]))
    assert len(read_examples(objects)) == 2
    broken = tmp_path / "broken.json"
    broken.write_text('[{"text": 3}]')
    with pytest.raises(DataError, match="item 0"):
        read_examples(broken)


def test_a_csv_row_with_an_unquoted_comma_is_refused_not_mislabelled(tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text("text,intent\nhello there,greet\nmy address is wrong, it moved,edit_account\n")
    with pytest.raises(DataError, match=r"rows.csv:3: more fields .* double quotes"):
        read_examples(rows)


@pytest.mark.slow  # trains on the whole seed set
def test_cli_train_eval_list_promote_rollback(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    runner = CliRunner()
    first, second = tmp_path / "first.csv", tmp_path / "second.json"
    with first.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["text", "intent"])
        writer.writerows((e.text, e.intent) for e in synthetic(40, seed=8))
    second.write_text(json.dumps([[e.text, e.intent] for e in synthetic(50, seed=9)]))
    try:
        trained = runner.invoke(
            app,
            [
                "train",
                "--data",
                str(first),
                "--promote",
                "always",
                "--features",
                "tfidf",
                "--no-calibrate",
            ],
        )
        assert trained.exit_code == 0, trained.output
        assert "validation accuracy" in trained.output
        again = runner.invoke(
            app, ["train", "--data", str(second), "--promote", "never", "--features", "tfidf"]
        )
        assert again.exit_code == 0 and "not promoted" in again.output
        listing = runner.invoke(app, ["models", "list"]).output
        versions = [line[2:].split()[0] for line in listing.splitlines() if line.strip()]
        assert len(versions) == 2 and listing.count("*") == 1
        newer = next(v for v in versions if f"* {v}" not in listing)
        assert runner.invoke(app, ["models", "promote", newer]).exit_code == 0
        assert f"* {newer}" in runner.invoke(app, ["models", "list"]).output
        assert "rolled back" in runner.invoke(app, ["models", "rollback"]).output
        assert runner.invoke(app, ["models", "promote", "nope"]).exit_code == 1
        figures = tmp_path / "figures"
        evaluated = runner.invoke(app, ["eval", "--data", str(second), "--out", str(figures)])
        assert evaluated.exit_code == 0, evaluated.output
        assert "macro_f1" in evaluated.output and "oos_recall" in evaluated.output
        for figure in ["reliability.png", "confusion.png"]:
            assert (figures / figure).read_bytes().startswith(b"\x89PNG")
    finally:
        get_settings.cache_clear()


@pytest.mark.slow  # trains on the whole seed set: about 15 s
def test_retraining_from_exported_rows_is_one_command(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    exported = tmp_path / "export.csv"
    exported.write_text(
        "text,intent,outcome,message_id\n"
        "wheres my stuff it's been 2 weeks,track_order,wrong_intent,m1\n"
        "pls get me a person,contact_human,sent_as_drafted,m2\n"
    )
    seed_rows = len(read_examples())
    try:
        command = [
            "train",
            "--data",
            str(exported),
            "--with-seed",
            "--features",
            "tfidf",
            "--no-calibrate",
        ]
        result = CliRunner().invoke(app, command)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert f"on {seed_rows + 2} utterances" in result.output
    assert "promoted" in result.output

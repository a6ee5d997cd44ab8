"""People teach it: what they confirm or correct in the inbox trains the next intent model, a
candidate is promoted only if it is not worse on the evaluation set's dev split either, and
their verdicts on the bot's drafts are read back for calibrating a reply confidence."""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from frontdesk.cli.main import app
from frontdesk.cli.training import inbox_rows
from frontdesk.clock import set_clock
from frontdesk.config import get_settings, load_settings
from frontdesk.contracts import Handoff
from frontdesk.evaluation.dataset import load_items, split
from frontdesk.runtime.services import Services, build_services
from frontdesk.training import models_dir
from frontdesk.training.data import Example, merge_labels, read_examples

FAST = ("tfidf",)


@pytest.fixture
def services(data_dir: Path) -> Iterator[Services]:
    built = build_services(load_settings(data_dir=data_dir, knowledge={"dense": "off"}))
    yield built
    built.close()


def handed_off(services: Services, text: str) -> Handoff:
    accepted = services.intake.accept(text, "api")
    services.worker("test").run_once(0)
    return next(h for h in services.store.list_handoffs() if h.message_id == accepted.message.id)


def test_a_later_label_overrides_an_earlier_one_for_the_same_text() -> None:
    seed = [Example("Talk to a human", "contact_human"), Example("cancel my order", "cancel_order")]
    inbox = [
        Example("talk to a human ", "complaint"),
        Example("where is it", "track_order"),
        Example("Where is it", "refund_status"),  # resolved later: this label wins
    ]
    assert merge_labels(seed, inbox) == [
        Example("talk to a human ", "complaint"),
        Example("cancel my order", "cancel_order"),
        Example("Where is it", "refund_status"),
    ]
    assert merge_labels([*seed, *seed], []) == seed


def test_train_uses_the_inbox_rows_and_a_correction_beats_the_seed_label(
    services: Services, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = read_examples()
    assert Example("talk to a human", "contact_human") in seed
    corrected = handed_off(services, "talk to a human")
    confirmed = handed_off(services, "I need a real person")
    rewritten = handed_off(services, "let me speak to an agent")
    store = services.store
    store.reply_to_handoff(corrected.id, "alice", "Sure.", "wrong_intent", "complaint")
    assert confirmed.packet.draft is not None
    store.reply_to_handoff(confirmed.id, "alice", confirmed.packet.draft.text)
    store.reply_to_handoff(rewritten.id, "alice", "Hello! Which order is it about?", "rewritten")

    people = inbox_rows(load_settings(data_dir=data_dir))
    assert people == [
        Example("talk to a human", "complaint"),
        Example("I need a real person", confirmed.packet.intent.label),
    ]
    merged = merge_labels(seed, people)
    assert len(merged) == len(seed) + 1
    assert [e.intent for e in merged if e.text == "talk to a human"] == ["complaint"]

    small = tmp_path / "small.csv"
    with small.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["text", "intent"])
        writer.writerow(["talk to a human", "contact_human"])
        writer.writerows((f"where is parcel {i}", "track_order") for i in range(6))
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    command = ["train", "--data", str(small), "--features", "tfidf", "--promote", "never"]
    try:
        with_inbox = CliRunner().invoke(app, command)
        without = CliRunner().invoke(app, [*command, "--no-inbox"])
    finally:
        get_settings.cache_clear()
    assert with_inbox.exit_code == 0, with_inbox.output
    assert "using 2 rows people labelled in the inbox" in with_inbox.output
    intents = len({"complaint", "track_order", confirmed.packet.intent.label})
    assert f"on 8 utterances, {intents} intents" in with_inbox.output  # 7 + 2, one overridden
    assert without.exit_code == 0, without.output
    assert "inbox" not in without.output and "on 7 utterances, 2 intents" in without.output


PHRASES = {
    "track_order": ["where is my order {n}", "has my package {n} shipped yet", "track parcel {n}",
                    "when will order {n} arrive", "my delivery {n} is late, where is it"],
    "cancel_order": ["cancel my order {n}", "please cancel order {n}",
                     "I want to cancel purchase {n}", "stop order {n} before it ships",
                     "call off my order {n}"],
    "return_item": ["return the item from order {n}", "how do I send back order {n}",
                    "I want a return for {n}", "send back the shoes from {n}",
                    "return label for {n}"],
}  # fmt: skip


def test_a_candidate_worse_on_the_eval_dev_split_is_not_promoted(tmp_path: Path) -> None:
    rng = random.Random(0)
    rows = [
        Example(phrase.format(n=rng.randint(100, 99_999)), intent)
        for intent, phrases in PHRASES.items()
        for phrase in phrases
        for _ in range(8)
    ]
    data_dir = tmp_path / "data"
    serving = models_dir.train_and_register(data_dir, rows, features=FAST)
    assert serving.promoted
    # The same texts with tracking and cancelling swapped: the candidate agrees with its own
    # (wrong) validation rows better than the serving model does, so only the evaluation set's
    # dev split, labelled right, can keep it from serving.
    swap = {"track_order": "cancel_order", "cancel_order": "track_order"}
    wrong = [Example(e.text, swap.get(e.intent, e.intent)) for e in rows]
    candidate = models_dir.train_and_register(data_dir, wrong, features=FAST)
    assert candidate.candidate_accuracy is not None and candidate.serving_accuracy is not None
    assert candidate.candidate_accuracy > candidate.serving_accuracy
    assert candidate.candidate_dev_accuracy is not None and candidate.serving_dev_accuracy
    assert candidate.candidate_dev_accuracy < candidate.serving_dev_accuracy
    assert not candidate.promoted
    assert models_dir.current_version(data_dir) == serving.model.version
    dev_figures = f"{candidate.candidate_dev_accuracy:.4f} vs {candidate.serving_dev_accuracy:.4f}"
    assert candidate.reason.startswith(f"kept {serving.model.version}")
    assert f"eval dev first-turn intent accuracy {dev_figures}" in candidate.reason
    stored = json.loads(
        (models_dir.model_dir(data_dir) / candidate.model.version / "metadata.json").read_text()
    )
    assert stored["promotion_gate"]["serving"] == serving.model.version
    assert stored["promotion_gate"]["eval_dev_accuracy"] == {
        "candidate": candidate.candidate_dev_accuracy,
        "serving": candidate.serving_dev_accuracy,
        "items": len(split(load_items())[0]),
    }
    never = models_dir.train_and_register(data_dir, wrong, "never", features=FAST)
    assert not never.promoted and models_dir.current_version(data_dir) == serving.model.version
    forced = models_dir.train_and_register(data_dir, wrong, "always", features=FAST)
    assert forced.promoted and models_dir.current_version(data_dir) == candidate.model.version


def test_reply_verdicts_say_whether_the_draft_was_kept(services: Services) -> None:
    texts = [
        "talk to a human",
        "I need a real person",
        "let me speak to an agent",
        "can I get a human please",
        "get me a human",
        "I want to talk to a real person",
    ]
    handoffs = [handed_off(services, text) for text in texts]
    drafts = [handoff.packet.draft.text if handoff.packet.draft else "" for handoff in handoffs]
    answers = [
        (drafts[0], "sent_as_drafted", None),
        (drafts[1] + " Have a nice day.", "edited", None),
        ("Hello! Which order is it about?", "rewritten", None),
        ("Sure.", "wrong_intent", "track_order"),
        (drafts[4], "handed_back", None),
    ]  # the last handoff stays open
    start = datetime(2099, 1, 1, tzinfo=UTC)  # one minute apart, whatever the machine's speed
    previous = set_clock(lambda: start)
    try:
        for minute, (handoff, answer) in enumerate(zip(handoffs, answers, strict=False)):
            text, outcome, correct = answer
            set_clock(lambda minute=minute: start + timedelta(minutes=minute))
            services.store.reply_to_handoff(handoff.id, "alice", text, outcome, correct)
    finally:
        set_clock(previous)
    verdicts = services.store.reply_verdicts()
    assert [(v.text, v.right) for v in verdicts] == [
        ("talk to a human", True),
        ("I need a real person", False),
        ("let me speak to an agent", False),
        ("can I get a human please", False),
    ]
    for verdict, handoff in zip(verdicts, handoffs, strict=False):
        assert verdict.message_id == handoff.message_id
        assert verdict.intent == handoff.packet.intent.label
        assert verdict.draft == handoff.packet.draft
    later = services.store.reply_verdicts(since=start + timedelta(minutes=2))
    assert [v.text for v in later] == ["let me speak to an agent", "can I get a human please"]

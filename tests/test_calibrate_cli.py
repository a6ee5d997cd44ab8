"""`frontdesk eval calibrate`: refuses what it cannot fit on, and fits, stores and promotes a
reply-confidence calibrator from a small evaluation set written here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from frontdesk.cli.main import app
from frontdesk.confidence.registry import calibrator_dir, load_current
from frontdesk.config import get_settings
from frontdesk.evaluation.dataset import in_dev

runner = CliRunner()


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def ids(count: int, dev: bool) -> list[str]:
    """Item ids that fall on the chosen side of the dev/test split."""
    found = (f"item-{n}" for n in range(1000))
    return [i for i in found if in_dev(i) is dev][:count]


def eval_item(item_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": item_id,
        "kind": "information",
        "turns": ["how long do refunds take"],
        "intent": "refund_status",
        "sections": [],
        "needs": "answer",
        "acceptable_tiers": ["auto", "human"],
        "must_contain": [],
        **fields,
    }


def write_items(path: Path, items: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    return path


def test_a_missing_or_broken_file_exits_2_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(tmp_path / "data"))
    missing = tmp_path / "missing.jsonl"
    result = runner.invoke(app, ["eval", "calibrate", str(missing)])
    assert result.exit_code == 2, result.output
    assert "no such file" in result.output and "missing.jsonl" in result.output
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n", encoding="utf-8")
    result = runner.invoke(app, ["eval", "calibrate", str(broken)])
    assert result.exit_code == 2, result.output
    assert "broken.jsonl:1" in result.output
    assert not calibrator_dir(tmp_path / "data").exists()


def test_a_set_without_dev_items_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(tmp_path / "data"))
    only_test = write_items(tmp_path / "test-only.jsonl", [eval_item(i) for i in ids(2, False)])
    result = runner.invoke(app, ["eval", "calibrate", str(only_test)])
    assert result.exit_code == 2, result.output
    assert "dev" in result.output
    assert not calibrator_dir(tmp_path / "data").exists()


def test_calibrate_fits_stores_and_promotes(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(data_dir))
    monkeypatch.setenv("FRONTDESK_KNOWLEDGE__DENSE", "off")  # vectors: test_demo_vectors.py
    dev, test = ids(3, True), ids(1, False)
    items = [
        eval_item(dev[0]),
        eval_item(dev[1], kind="person_request", turns=["I want to talk to a real person please"],
                  intent="contact_human", needs="person", acceptable_tiers=["human"]),
        eval_item(dev[2], kind="action", turns=["where is my order?"], intent="track_order",
                  needs="action"),
        eval_item(test[0]),  # the test side is never fitted on
    ]  # fmt: skip
    path = write_items(tmp_path / "tiny.jsonl", items)
    assert load_current(data_dir) is None
    result = runner.invoke(app, ["eval", "calibrate", str(path), "--no-inbox"])
    assert result.exit_code == 0, result.output
    current = load_current(data_dir)
    assert current is not None
    assert current.version in result.output
    assert (current.metadata["dev_items"], current.metadata["inbox_verdicts"]) == (3, 0)
    # The person request goes to a person whatever its draft scores: not fitted on.
    assert (current.metadata["rows"], current.metadata["rows_held_by_rules"]) == (2, 1)
    assert set(current.kinds) <= {"knowledge", "template", "action"}
    assert 0.0 <= current.auto_threshold <= 1.0
    # Fitted again without promoting: stored beside it, the first one still serves.
    again = runner.invoke(app, ["eval", "calibrate", str(path), "--no-inbox", "--no-promote"])
    assert again.exit_code == 0, again.output
    assert len(list(calibrator_dir(data_dir).glob("*.json"))) in (1, 2)  # same second, same name
    served = load_current(data_dir)
    assert served is not None and served.version == current.version

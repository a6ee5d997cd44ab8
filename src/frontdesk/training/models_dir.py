"""The intent model registry under the data directory, and which version serves.

    data_dir/models/intent/<version>/model.joblib     the fitted model
    data_dir/models/intent/<version>/metadata.json    data hash, metrics, created at, features
    data_dir/models/intent/current                    the promoted version (what serving loads)
    data_dir/models/intent/promotions.log             every promotion, so a rollback knows where

A promotion rewrites `current` atomically (write, then rename), so a server starting meanwhile
reads either the old version or the new one, never half a name.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib

from frontdesk.clock import utcnow
from frontdesk.evaluation.dataset import load_items, split
from frontdesk.training.data import Example, read_examples, split_examples
from frontdesk.training.intent_model import SHIPPED_FEATURES, IntentModel, train

CURRENT = "current"
PROMOTIONS = "promotions.log"
MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"


class RegistryError(LookupError):
    """A version that is not in the registry, or nothing to roll back to."""


def model_dir(data_dir: Path) -> Path:
    return data_dir / "models" / "intent"


def save(data_dir: Path, model: IntentModel) -> Path:
    folder = model_dir(data_dir) / model.version
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, folder / MODEL_FILE)
    (folder / METADATA_FILE).write_text(json.dumps(model.metadata, indent=2, default=str))
    return folder


def load(data_dir: Path, version: str) -> IntentModel:
    path = model_dir(data_dir) / version / MODEL_FILE
    if not path.is_file():
        raise RegistryError(f"no intent model {version!r} in {model_dir(data_dir)}")
    model = joblib.load(path)
    if not isinstance(model, IntentModel):
        raise RegistryError(f"{path} does not hold an intent model")
    return model


def current_version(data_dir: Path) -> str | None:
    pointer = model_dir(data_dir) / CURRENT
    return pointer.read_text().strip() or None if pointer.is_file() else None


def list_models(data_dir: Path) -> list[dict[str, Any]]:
    """Every stored version's metadata, oldest first, with `current` marking the one serving."""
    folder, serving = model_dir(data_dir), current_version(data_dir)
    found = []
    for metadata_file in folder.glob(f"*/{METADATA_FILE}"):
        metadata = json.loads(metadata_file.read_text())
        found.append({**metadata, "current": metadata.get("version") == serving})
    return sorted(found, key=lambda m: (m.get("created_at", ""), m.get("version", "")))


def promote(data_dir: Path, version: str) -> None:
    folder = model_dir(data_dir)
    if not (folder / version / MODEL_FILE).is_file():
        raise RegistryError(f"no intent model {version!r} in {folder}")
    staging = folder / f".{CURRENT}.{os.getpid()}"
    staging.write_text(version)
    staging.replace(folder / CURRENT)
    with (folder / PROMOTIONS).open("a", encoding="utf-8") as log:
        log.write(f"{utcnow().isoformat(timespec='seconds')}\t{version}\n")


def rollback(data_dir: Path) -> str:
    """Promote the version that served before the current one; returns it."""
    log = model_dir(data_dir) / PROMOTIONS
    history = (
        [line.split("\t")[1] for line in log.read_text().splitlines()] if log.is_file() else []
    )
    serving = current_version(data_dir)
    earlier = [version for version in history if version != serving]
    if not earlier:
        raise RegistryError("no earlier promoted version to roll back to")
    promote(data_dir, earlier[-1])
    return earlier[-1]


@dataclass
class TrainingOutcome:
    model: IntentModel
    promoted: bool
    reason: str
    candidate_accuracy: float | None = None  # on the new validation split
    serving_accuracy: float | None = None
    candidate_dev_accuracy: float | None = None  # first-turn intent on the eval set's dev split
    serving_dev_accuracy: float | None = None


def train_and_register(
    data_dir: Path, examples: list[Example], promote_if: str = "better", **options: Any
) -> TrainingOutcome:
    """Train, store, and promote per `promote_if`: "always", "never", or "better" — only if the
    new model is at least as accurate as the serving one on the new validation split and on the
    first turns of the evaluation set's dev split. The validation split is by seeded hash of
    each text, so rows the serving model validated on stay in validation and it never trained
    on any of them. The figures compared are kept in the new model's metadata."""
    model = train(examples, **options)
    serving = current_version(data_dir)
    if promote_if == "never":
        outcome = TrainingOutcome(model, False, "not promoted (--promote never)")
    elif promote_if == "always" or serving is None or serving == model.version:
        outcome = TrainingOutcome(model, True, "promoted")
    else:
        outcome = _compare(data_dir, model, serving, examples)
    save(data_dir, model)
    if outcome.promoted:
        promote(data_dir, model.version)
    return outcome


def _compare(
    data_dir: Path, model: IntentModel, serving: str, examples: list[Example]
) -> TrainingOutcome:
    _, validation = split_examples(examples)
    if not validation:
        return TrainingOutcome(model, False, "no validation split to compare on: not promoted")
    try:
        incumbent = load(data_dir, serving)
    except RegistryError:
        return TrainingOutcome(model, True, f"promoted: {serving} could not be loaded to compare")
    dev = eval_dev_examples()
    candidate, held = accuracy(model, validation), accuracy(incumbent, validation)
    candidate_dev, held_dev = accuracy(model, dev), accuracy(incumbent, dev)
    model.metadata["promotion_gate"] = {
        "serving": serving,
        "validation_accuracy": {"candidate": candidate, "serving": held},
        "eval_dev_accuracy": {"candidate": candidate_dev, "serving": held_dev, "items": len(dev)},
    }
    promoted = candidate >= held and candidate_dev >= held_dev
    reason = (
        f"{'promoted' if promoted else f'kept {serving}'}: validation accuracy "
        f"{candidate:.4f} vs {held:.4f}, eval dev first-turn intent accuracy "
        f"{candidate_dev:.4f} vs {held_dev:.4f} (new vs serving)"
    )
    return TrainingOutcome(model, promoted, reason, candidate, held, candidate_dev, held_dev)


def eval_dev_examples() -> list[Example]:
    """The first turn of each item of the evaluation set's dev split, with its intent. Only the
    dev split: the test split stays unseen by every choice made in training."""
    dev, _ = split(load_items())
    return [Example(item.text, item.intent) for item in dev]


def accuracy(model: IntentModel, examples: list[Example]) -> float:
    """The share of `examples` given their intent (out of scope included, as served)."""
    labels, _ = model.predicted_labels([example.text for example in examples])
    return sum(label == e.intent for label, e in zip(labels, examples, strict=True)) / len(examples)


def train_and_activate(data_dir: Path, examples: list[Example], **options: Any) -> IntentModel:
    return train_and_register(data_dir, examples, promote_if="always", **options).model


def load_active(data_dir: Path) -> IntentModel:
    """The promoted model; on first start, one trained on the shipped seed utterances."""
    serving = current_version(data_dir)
    if serving is not None:
        try:
            return load(data_dir, serving)
        except RegistryError:
            pass
    return train_and_activate(data_dir, read_examples(), features=SHIPPED_FEATURES)

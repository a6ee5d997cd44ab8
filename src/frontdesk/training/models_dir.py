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
from frontdesk.training.data import Example, read_examples, split_examples
from frontdesk.training.intent_model import SHIPPED_FEATURES, IntentModel, evaluate, train

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
    candidate_accuracy: float | None = None
    serving_accuracy: float | None = None


def train_and_register(
    data_dir: Path, examples: list[Example], promote_if: str = "better", **options: Any
) -> TrainingOutcome:
    """Train, store, and promote per `promote_if`: "always", "never", or "better" — only if the
    new model is at least as accurate as the serving one on the new validation split. The
    split is by seeded hash of each text, so rows the serving model validated on stay in
    validation and it never trained on any of them."""
    model = train(examples, **options)
    save(data_dir, model)
    serving = current_version(data_dir)
    if promote_if == "never":
        return TrainingOutcome(model, False, "not promoted (--no-promote)")
    if promote_if == "always" or serving is None or serving == model.version:
        promote(data_dir, model.version)
        return TrainingOutcome(model, True, "promoted")
    _, validation = split_examples(examples)
    if not validation:
        return TrainingOutcome(model, False, "no validation split to compare on: not promoted")
    candidate = evaluate(model, validation)["accuracy"]
    try:
        incumbent = evaluate(load(data_dir, serving), validation)["accuracy"]
    except RegistryError:
        incumbent = None
    if incumbent is not None and candidate < incumbent:
        reason = f"kept {serving}: validation accuracy {candidate:.4f} < {incumbent:.4f}"
        return TrainingOutcome(model, False, reason, candidate, incumbent)
    promote(data_dir, model.version)
    return TrainingOutcome(model, True, "promoted", candidate, incumbent)


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

"""Where trained intent models live under the data directory, and which one serves."""

from __future__ import annotations

from pathlib import Path

from frontdesk.training.intent_model import Example, IntentModel, read_examples, train

CURRENT = "current"


def model_dir(data_dir: Path) -> Path:
    return data_dir / "models" / "intent"


def train_and_activate(data_dir: Path, examples: list[Example]) -> IntentModel:
    model = train(examples)
    folder = model_dir(data_dir)
    model.save(folder / f"{model.version}.joblib")
    (folder / CURRENT).write_text(model.version)
    return model


def load_active(data_dir: Path) -> IntentModel:
    """The active model; on first start, one trained on the shipped seed utterances."""
    folder = model_dir(data_dir)
    pointer = folder / CURRENT
    if pointer.is_file():
        path = folder / f"{pointer.read_text().strip()}.joblib"
        if path.is_file():
            return IntentModel.load(path)
    return train_and_activate(data_dir, read_examples())

"""Training, saving and loading the intent classifier.

Word and character n-gram TF-IDF with multinomial logistic regression: on the shared development
machines this scored 92.5 % on CLINC150 at 2 ms per message (see ../shared/notes), which is the
baseline the intent-quality work improves on. Out-of-scope is a class of its own.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import joblib
import numpy as np
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from frontdesk.contracts import IntentAlternative, IntentPrediction

OUT_OF_SCOPE = "out_of_scope"
ALTERNATIVES = 3


@dataclass(frozen=True)
class Example:
    text: str
    intent: str


class DataError(ValueError):
    """A training file that cannot be used; the message says which row and why."""


def read_examples(source: Path | str | None = None) -> list[Example]:
    """Read `text,intent` rows from a CSV file; None reads the seed set shipped with frontdesk."""
    if source is None:
        raw = resources.files("frontdesk.training").joinpath("seed_intents.csv").read_text("utf-8")
        name = "seed_intents.csv"
    else:
        path = Path(source)
        if not path.is_file():
            raise DataError(f"{path}: no such file")
        raw, name = path.read_text("utf-8"), str(path)
    reader = csv.DictReader(io.StringIO(raw))
    if not reader.fieldnames or not {"text", "intent"} <= set(reader.fieldnames):
        raise DataError(f"{name}: needs a header with the columns text and intent")
    examples = []
    for line, row in enumerate(reader, start=2):
        text, intent = (row.get("text") or "").strip(), (row.get("intent") or "").strip()
        if not text or not intent:
            raise DataError(f"{name}:{line}: empty text or intent")
        examples.append(Example(text, intent))
    if len({example.intent for example in examples}) < 2:
        raise DataError(f"{name}: needs at least two intents")
    return examples


def data_hash(examples: list[Example]) -> str:
    digest = hashlib.sha256()
    for example in examples:
        digest.update(f"{example.intent}\t{example.text}\n".encode())
    return digest.hexdigest()


class IntentModel:
    """A fitted classifier plus its version; predicts contracts, not raw arrays."""

    def __init__(self, pipeline: Pipeline, version: str) -> None:
        self.pipeline = pipeline
        self.version = version
        self.labels: list[str] = list(pipeline.classes_)

    def predict(self, texts: list[str]) -> list[IntentPrediction]:
        probabilities = self.pipeline.predict_proba(texts)
        return [self._prediction(row) for row in probabilities]

    def _prediction(self, row: np.ndarray) -> IntentPrediction:
        order = np.argsort(row)[::-1][: ALTERNATIVES + 1]
        best = self.labels[order[0]]
        return IntentPrediction(
            label=best,
            confidence=float(row[order[0]]),
            model_version=self.version,
            out_of_scope=best == OUT_OF_SCOPE,
            alternatives=[
                IntentAlternative(label=self.labels[i], confidence=float(row[i])) for i in order[1:]
            ],
        )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump({"pipeline": self.pipeline, "version": self.version}, path)

    @classmethod
    def load(cls, path: Path) -> IntentModel:
        saved = joblib.load(path)
        return cls(saved["pipeline"], saved["version"])


def train(examples: list[Example]) -> IntentModel:
    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True)),
            (
                "chars",
                TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
            ),
        ]
    )
    pipeline = Pipeline(
        [("features", features), ("classifier", LogisticRegression(C=20, max_iter=2000))]
    )
    pipeline.fit([example.text for example in examples], [example.intent for example in examples])
    version = f"tfidf-lr-{data_hash(examples)[:10]}-sk{sklearn.__version__}"
    return IntentModel(pipeline, version)

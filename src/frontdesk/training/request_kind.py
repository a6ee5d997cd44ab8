"""Whether a message asks for information or for an action: the explicit signal that tells a
question *about* a policy ("is there a fee to cancel?") from a request to act on the customer's
own order, account or payment ("cancel #W4821930"), whatever the intent.

Rule of thumb (docs/request-kind.md): `action` when the customer wants us to do or look up
something about *their* order, account or payment now; `information` when the answer is the
same for every customer: how something works, what the rules are, what is possible in general.

A TF-IDF model (word 1–2-grams and character 2–5-grams, optionally with MiniLM sentence vectors)
with a logistic regression, its probability calibrated by Platt scaling on cross-validated scores;
the shipped one trains from `seed_requests.csv` in a fraction of a second.
"""

from __future__ import annotations

import csv
import io
import re
import threading
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # scikit-learn needs it

from frontdesk.training.data import DataError
from frontdesk.training.features import SentenceFeatures, clip_texts

__all__ = [
    "ACTION",
    "ASKS",
    "INFORMATION",
    "DataError",
    "RequestKindModel",
    "normalise",
    "read_request_rows",
    "shipped_request_model",
]

ACTION = "action"
INFORMATION = "information"
ASKS = (INFORMATION, ACTION)
SHIPPED_FILE = "seed_requests.csv"
REGULARIZATION = 30.0  # the best cross-validated log loss of 3, 10, 30 (docs/request-kind.md)
# `tfidf` is the default and what the shipped model uses: it trains in a fraction of a second.
# `tfidf+minilm` adds the packaged sentence vectors: more accurate (docs/request-kind.md), but
# encoding the training rows takes tens of seconds, so it is for a model trained ahead of time.
FEATURE_SETS = ("tfidf", "tfidf+minilm")
CALIBRATION_FOLDS = 5

# A customer's own identifiers are evidence of an action whatever they look like: one token each,
# so "#W4821930" and "W1234567" count as the same thing and no digit n-gram is learnt by heart.
_ORDER_NUMBER = re.compile(r"#?\bw\d{7}\b", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_NUMBER = re.compile(r"\d+")


def normalise(text: str) -> str:
    """Lower-cased text with order numbers, email addresses and other numbers as placeholders."""
    text = _ORDER_NUMBER.sub(" ordernumber ", text or "")
    text = _EMAIL.sub(" emailaddress ", text)
    return _NUMBER.sub("0", text).lower()


def _features(name: str) -> FeatureUnion:
    if name not in FEATURE_SETS:
        raise ValueError(f"unknown feature set {name!r}; choose one of {', '.join(FEATURE_SETS)}")
    parts: list[tuple[str, TransformerMixin]] = [
        (
            "words",
            TfidfVectorizer(
                preprocessor=normalise,
                ngram_range=(1, 2),
                sublinear_tf=True,
                token_pattern=r"(?u)\b\w+\b",  # one-letter words count: "how do i", "can u"
            ),
        ),
        (
            "chars",
            TfidfVectorizer(
                preprocessor=normalise,
                analyzer="char_wb",
                ngram_range=(2, 5),
                sublinear_tf=True,
            ),
        ),
    ]
    if name == "tfidf+minilm":
        parts.append(("minilm", SentenceFeatures(weight=1.0)))
    return FeatureUnion(parts)


@dataclass
class RequestKindModel:
    """A fitted, calibrated classifier of what a message asks for."""

    pipeline: Pipeline

    @classmethod
    def train(
        cls,
        texts: list[str],
        asks: list[str],
        regularization: float = REGULARIZATION,
        features: str = "tfidf",
    ) -> RequestKindModel:
        """Fit on labelled texts; `asks` holds `information` or `action` for each text."""
        if len(texts) != len(asks):
            raise ValueError(f"{len(texts)} texts but {len(asks)} labels")
        unknown = sorted(set(asks) - set(ASKS))
        if unknown:
            raise ValueError(f"unknown asks {unknown}; use {' or '.join(ASKS)}")
        smallest = min(asks.count(kind) for kind in ASKS)
        if smallest < 2:
            raise ValueError("needs at least two examples of both information and action")
        classifier = LogisticRegression(C=regularization, solver="liblinear", max_iter=1000)
        # Platt scaling on out-of-fold scores, then one classifier refitted on all rows: the
        # probability is honest about rows it never saw, and serving runs one model, not five.
        calibrated = CalibratedClassifierCV(
            classifier,
            method="sigmoid",
            # Shuffled folds: rows grouped by topic (as in the seed file) would otherwise leave a
            # whole topic out of each fold and make the scores, and the fitted sigmoid, too timid.
            cv=StratifiedKFold(min(CALIBRATION_FOLDS, smallest), shuffle=True, random_state=0),
            ensemble=False,
        )
        pipeline = Pipeline([("features", _features(features)), ("classifier", calibrated)])
        # Small sparse fits gain nothing from BLAS threads, and on a busy machine their start-up
        # and spinning cost seconds (measured: 2.5–3.7 s cold instead of well under one).
        with threadpool_limits(limits=1, user_api="blas"):
            pipeline.fit(clip_texts(texts), [kind == ACTION for kind in asks])
        return cls(pipeline)

    def action_probability(self, texts: list[str]) -> list[float]:
        """Calibrated P(the message asks for an action), one per text."""
        if not texts:
            return []
        rows = self.pipeline.predict_proba(clip_texts(texts))
        column = list(self.pipeline.classes_).index(True)
        return [float(p) for p in np.clip(rows[:, column], 0.0, 1.0)]

    def asks(self, texts: list[str], threshold: float = 0.5) -> list[str]:
        """`action` or `information` for each text, at `threshold` on the probability."""
        return [ACTION if p >= threshold else INFORMATION for p in self.action_probability(texts)]


def read_request_rows(path: Path | str | None = None) -> tuple[list[str], list[str]]:
    """Texts and their `asks` from a CSV with the columns `text` and `asks`; None reads the set
    shipped with frontdesk. A row that can't be used raises DataError naming its line."""
    if path is None:
        raw = resources.files("frontdesk.training").joinpath(SHIPPED_FILE).read_text("utf-8")
        name = SHIPPED_FILE
    else:
        source = Path(path)
        if not source.is_file():
            raise DataError(f"{source}: no such file")
        raw, name = source.read_text("utf-8"), str(source)
    reader = csv.DictReader(io.StringIO(raw))
    if not reader.fieldnames or not {"text", "asks"} <= set(reader.fieldnames):
        raise DataError(f"{name}: needs a header with the columns text and asks")
    texts, asks = [], []
    for row in reader:
        line = reader.line_num
        if row.get(None):  # DictReader's key for fields beyond the header's
            raise DataError(
                f"{name}:{line}: more fields than the header has; "
                "put a text that contains a comma in double quotes"
            )
        text, kind = (row.get("text") or "").strip(), (row.get("asks") or "").strip()
        if not text:
            raise DataError(f"{name}:{line}: empty text")
        if kind not in ASKS:
            raise DataError(
                f"{name}:{line}: asks is {kind!r}; it must be {' or '.join(map(repr, ASKS))}"
            )
        texts.append(text)
        asks.append(kind)
    if set(asks) != set(ASKS):
        raise DataError(f"{name}: needs rows of both information and action")
    return texts, asks


_TRAINING = threading.Lock()


@cache
def _shipped() -> RequestKindModel:
    return RequestKindModel.train(*read_request_rows())


def shipped_request_model() -> RequestKindModel:
    """The model trained from the shipped CSV, once per process. The lock keeps a warm-up thread
    and a first request from training two copies at once."""
    with _TRAINING:
        return _shipped()

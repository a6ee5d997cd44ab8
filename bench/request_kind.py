"""Request-kind benchmark: is a message asking for information or for an action?

    .venv/bin/python bench/request_kind.py [--features tfidf,tfidf+minilm] [--repeats 3]

For each feature set: stratified 5-fold cross-validation on the shipped seed_requests.csv
(repeated with different shuffles; accuracy, log loss and ECE of the out-of-fold probabilities),
then a model trained on all of it scored once on the hand-written hard cases in
tests/data/request_kind_hard_cases.csv, which no model trains on. Also the time to train on the
whole seed set and the single-message latency, median over distinct messages with nothing cached.
Prints one JSON object per feature set.
"""

from __future__ import annotations

import os

# One core for latency, as for the intent benchmark; set before NumPy loads its BLAS.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold

from frontdesk.training import features as feature_module
from frontdesk.training.calibration import expected_calibration_error
from frontdesk.training.request_kind import ACTION, RequestKindModel, read_request_rows

HARD_CASES = (
    Path(__file__).resolve().parent.parent / "tests" / "data" / "request_kind_hard_cases.csv"
)
FOLDS = 5


def scores(probabilities: list[float] | np.ndarray, asks: list[str]) -> dict[str, float]:
    """Accuracy at 0.5, log loss, and ECE of the top-label confidence (15 equal-width bins)."""
    p = np.asarray(probabilities, dtype=float)
    truth = np.array([kind == ACTION for kind in asks])
    correct = (p >= 0.5) == truth
    return {
        "accuracy": round(float(correct.mean()), 4),
        "log_loss": round(float(log_loss(truth, p, labels=[False, True])), 4),
        "ece": round(expected_calibration_error(np.maximum(p, 1 - p), correct), 4),
    }


def cross_validate(texts: list[str], asks: list[str], features: str, repeats: int) -> dict:
    runs = []
    for seed in range(repeats):
        folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
        out_of_fold = np.zeros(len(texts))
        for train_index, test_index in folds.split(texts, asks):
            model = RequestKindModel.train(
                [texts[i] for i in train_index], [asks[i] for i in train_index], features=features
            )
            out_of_fold[test_index] = model.action_probability([texts[i] for i in test_index])
        runs.append(scores(out_of_fold, asks))
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def latency_ms(model: RequestKindModel, texts: list[str]) -> float:
    timings = []
    for text in dict.fromkeys(texts):  # distinct messages: nothing to reuse
        feature_module.EMBEDDING_CACHE.clear()
        started = time.perf_counter()
        model.action_probability([text])
        timings.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(timings), 3)


def run(features: str, repeats: int) -> dict:
    texts, asks = read_request_rows()
    hard_texts, hard_asks = read_request_rows(HARD_CASES)
    if "minilm" in features:  # encode once up front, so the folds don't encode again
        feature_module.EMBEDDING_CACHE_SIZE["entries"] = 10**6
        feature_module.embed(texts)
    cross_validated = cross_validate(texts, asks, features, repeats)
    feature_module.EMBEDDING_CACHE.clear()
    started = time.perf_counter()
    model = RequestKindModel.train(texts, asks, features=features)
    train_seconds = time.perf_counter() - started
    hard = model.action_probability(hard_texts)
    wrong = [
        {"text": text, "asks": kind, "p_action": round(p, 3)}
        for text, kind, p in zip(hard_texts, hard_asks, hard, strict=True)
        if (p >= 0.5) != (kind == ACTION)
    ]
    return {
        "features": features,
        "rows": {"information": asks.count("information"), "action": asks.count(ACTION)},
        "cross_validation": {"folds": FOLDS, "repeats": repeats, **cross_validated},
        "hard_cases": {"rows": len(hard_texts), **scores(hard, hard_asks), "wrong": wrong},
        "train_seconds_cold": round(train_seconds, 3),
        "latency_p50_ms": latency_ms(model, hard_texts + texts[::4]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", default="tfidf", help="comma-separated: tfidf,tfidf+minilm")
    parser.add_argument("--repeats", type=int, default=3, help="shuffles of the cross-validation")
    args = parser.parse_args()
    for features in args.features.split(","):
        print(json.dumps(run(features, args.repeats)), flush=True)


if __name__ == "__main__":
    main()

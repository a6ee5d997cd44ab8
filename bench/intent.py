"""Intent benchmark: CLINC150 (in-scope accuracy and OOS recall at one operating point, ECE) and
BANKING77 (accuracy), plus single-message latency on one core and load time.

    .venv/bin/python bench/intent.py --data ../shared/data [--features tfidf,minilm,...]

Everything is chosen on train/validation only (CLINC's official val + oos_val; for BANKING77 a
validation split cut from train.csv by the project's seeded split); each test split is scored
once per model. Prints one JSON object per model and a summary JSON at the end.
"""

from __future__ import annotations

import os

# One core for latency, as the target says; set before NumPy loads its BLAS.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import csv
import hashlib
import json
import statistics
import sys
import time
from pathlib import Path

import joblib
import numpy as np

from frontdesk.embedding.minilm import drop_packaged_encoder
from frontdesk.training import features as feature_module
from frontdesk.training.data import OUT_OF_SCOPE, Example, read_examples, split_examples
from frontdesk.training.intent_model import IntentModel, evaluate, train

PUBLISHED = {
    "clinc150": "BERT 96.9 % in-scope / 40.3 % OOS recall (Larson et al. 2019)",
    "banking77": "BERT-large 93.66 % (Casanueva et al. 2020)",
    "seed": "reference pilot: 94 % on 20+ intents (fine-tuned hosted model, its own data)",
}
LATENCY_MESSAGES = 300
LATENCY_REPEATS = 3


def clinc(root: Path) -> tuple[list[Example], list[Example], list[Example]]:
    data = json.loads((root / "clinc150" / "data_full.json").read_text())

    def rows(*parts: str) -> list[Example]:
        return [
            Example(text, OUT_OF_SCOPE if label == "oos" else label)
            for part in parts
            for text, label in data[part]
        ]

    return rows("train", "oos_train"), rows("val", "oos_val"), rows("test", "oos_test")


def banking(root: Path) -> tuple[list[Example], list[Example], list[Example]]:
    def rows(name: str) -> list[Example]:
        with (root / "banking77" / name).open(encoding="utf-8") as file:
            return [Example(row["text"], row["category"]) for row in csv.DictReader(file)]

    train_rows, validation = split_examples(rows("train.csv"))
    return train_rows, validation, rows("test.csv")


def seed(_: Path) -> tuple[list[Example], list[Example], list[Example]]:
    """The shipped seed utterances have no test split: their "test" is the validation split."""
    train_rows, validation = split_examples(read_examples())
    return train_rows, validation, validation


DATASETS = {"clinc150": clinc, "banking77": banking, "seed": seed}


def prime_embeddings(texts: list[str], cache_dir: Path) -> None:
    """Encode every text once, keeping the vectors on disk across runs of the benchmark."""
    feature_module.EMBEDDING_CACHE_SIZE["entries"] = 10**6
    unique = sorted(set(texts))
    key = hashlib.sha256("\n".join(unique).encode()).hexdigest()[:16]
    path = cache_dir / f"minilm-{key}.npy"
    if path.is_file():
        vectors = np.load(path)
    else:
        started = time.perf_counter()
        vectors = feature_module.packaged_encoder().encode(unique)
        print(
            f"encoded {len(unique)} texts in {time.perf_counter() - started:.0f} s", file=sys.stderr
        )
        cache_dir.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
    feature_module.EMBEDDING_CACHE.update(zip(unique, vectors, strict=True))


def latency(model: IntentModel, texts: list[str]) -> dict[str, float]:
    """Single-message predict time with nothing cached, median over repeated runs."""
    p50s, p95s = [], []
    for _ in range(LATENCY_REPEATS):
        timings = []
        for text in texts:
            feature_module.EMBEDDING_CACHE.clear()
            started = time.perf_counter()
            model.predict([text])
            timings.append((time.perf_counter() - started) * 1000)
        p50s.append(float(np.percentile(timings, 50)))
        p95s.append(float(np.percentile(timings, 95)))
    return {"p50_ms": statistics.median(p50s), "p95_ms": statistics.median(p95s)}


def load_time(model: IntentModel, scratch: Path) -> float:
    """Seconds from a saved model file to its first prediction, encoder included."""
    scratch.mkdir(parents=True, exist_ok=True)
    path = scratch / "model.joblib"
    joblib.dump(model, path)
    drop_packaged_encoder()
    feature_module.EMBEDDING_CACHE.clear()
    started = time.perf_counter()
    joblib.load(path).predict(["where is my parcel"])
    return time.perf_counter() - started


def run(dataset: str, root: Path, feature_set: str, grid: tuple[float, ...], cache: Path) -> dict:
    train_rows, validation, test = DATASETS[dataset](root)
    if "minilm" in feature_set:
        prime_embeddings([e.text for e in [*train_rows, *validation, *test]], cache)
    started = time.perf_counter()
    model = train(train_rows, features=(feature_set,), regularization=grid, validation=validation)
    fit_seconds = time.perf_counter() - started
    test_scores = evaluate(model, test)
    top = model.probabilities([e.text for e in test]).argmax(axis=1)
    in_scope = [i for i, e in enumerate(test) if e.intent != OUT_OF_SCOPE]
    test_scores["in_scope_argmax_accuracy"] = float(
        np.mean([model.labels[top[i]] == test[i].intent for i in in_scope])
    )
    meta = model.metadata
    chosen_ece = meta["calibration"]["cross_fitted_ece"][meta["calibration"]["method"]]
    result = {
        "dataset": dataset,
        "features": feature_set,
        "version": model.version,
        "regularization": meta["regularization"],
        "calibration": meta["calibration"]["method"],
        "temperature": round(meta["calibration"]["temperature"], 4),
        "oos_threshold": model.oos_threshold,
        "train_seconds": round(fit_seconds, 1),
        "validation": meta["validation"],
        "validation_ece_cross_fitted": chosen_ece,
        "test": test_scores,
        "published": PUBLISHED[dataset],
    }
    sample = [e.text for e in test[:: max(1, len(test) // LATENCY_MESSAGES)]][:LATENCY_MESSAGES]
    result["latency"] = latency(model, sample)
    result["load_seconds"] = round(load_time(model, cache), 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--datasets", default="clinc150,banking77", help="and/or seed")
    parser.add_argument("--features", default="tfidf,minilm,tfidf+minilm")
    parser.add_argument("--regularization", default="20", help="C values tried on validation")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/frontdesk-bench-intent"))
    args = parser.parse_args()
    grid = tuple(float(c) for c in args.regularization.split(","))
    results = []
    for dataset in args.datasets.split(","):
        for feature_set in args.features.split(","):
            result = run(dataset, args.data, feature_set, grid, args.cache)
            print(json.dumps(result), flush=True)
            results.append(result)
    print(json.dumps({"summary": [summary_row(r) for r in results]}, indent=1))


def summary_row(result: dict) -> dict:
    test, validation = result["test"], result["validation"]
    return {
        "dataset": result["dataset"],
        "features": result["features"],
        "test_accuracy": test["accuracy"],
        "test_in_scope_accuracy_at_threshold": test["in_scope_accuracy"],
        "test_in_scope_argmax_accuracy": test["in_scope_argmax_accuracy"],
        "test_oos_recall": test["oos_recall"],
        "test_ece_served": test["ece"],
        "test_ece_classifier": test["classifier_ece"],
        "validation_ece_cross_fitted": result["validation_ece_cross_fitted"],
        "validation_ece_served_in_sample": validation["ece"],
        "oos_threshold": result["oos_threshold"],
        "p95_ms": result["latency"]["p95_ms"],
        "load_seconds": result["load_seconds"],
    }


if __name__ == "__main__":
    main()

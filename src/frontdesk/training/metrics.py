"""Scores of served intent predictions, and the two figures `frontdesk eval` draws."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score

from frontdesk.training.calibration import ECE_BINS, expected_calibration_error
from frontdesk.training.data import OUT_OF_SCOPE


def score_predictions(
    truth: list[str], predicted: list[str], confidence: np.ndarray
) -> dict[str, Any]:
    truth_array, predicted_array = np.array(truth), np.array(predicted)
    correct = truth_array == predicted_array
    outside, flagged = truth_array == OUT_OF_SCOPE, predicted_array == OUT_OF_SCOPE
    return {
        "rows": len(truth),
        "accuracy": float(correct.mean()) if len(truth) else None,
        "in_scope_accuracy": float(correct[~outside].mean()) if (~outside).any() else None,
        "macro_f1": float(f1_score(truth_array, predicted_array, average="macro"))
        if len(truth)
        else None,
        "oos_recall": float(flagged[outside].mean()) if outside.any() else None,
        "oos_precision": float(outside[flagged].mean()) if flagged.any() else None,
        "ece": expected_calibration_error(confidence, correct),
    }


def write_reliability_diagram(confidence: np.ndarray, correct: np.ndarray, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    edges = np.linspace(0, 1, ECE_BINS + 1)
    bins = np.minimum((confidence * ECE_BINS).astype(int), ECE_BINS - 1)
    centres, accuracy, counts = [], [], []
    for b in range(ECE_BINS):
        members = bins == b
        if members.any():
            centres.append((edges[b] + edges[b + 1]) / 2)
            accuracy.append(correct[members].mean())
            counts.append(int(members.sum()))
    figure, axis = pyplot.subplots(figsize=(5, 5))
    axis.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    axis.bar(centres, accuracy, width=1 / ECE_BINS, edgecolor="black", alpha=0.7, label="observed")
    for x, y, n in zip(centres, accuracy, counts, strict=True):
        axis.annotate(str(n), (x, y), ha="center", va="bottom", fontsize=7)
    ece = expected_calibration_error(confidence, correct)
    axis.set(
        xlabel="confidence",
        ylabel="accuracy",
        xlim=(0, 1),
        ylim=(0, 1.05),
        title=f"Reliability (ECE {ece:.3f})",
    )
    axis.legend(loc="upper left")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    pyplot.close(figure)


def write_confusion_matrix(truth: list[str], predicted: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    labels = sorted(set(truth) | set(predicted))
    matrix = confusion_matrix(truth, predicted, labels=labels)
    size = max(6, 0.35 * len(labels))
    figure, axis = pyplot.subplots(figsize=(size, size))
    axis.imshow(matrix, cmap="Blues")
    axis.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    axis.set_yticks(range(len(labels)), labels, fontsize=7)
    axis.set(xlabel="predicted", ylabel="true", title="Confusion matrix")
    if len(labels) <= 40:
        for (row, column), count in np.ndenumerate(matrix):
            if count:
                axis.text(column, row, str(count), ha="center", va="center", fontsize=6)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    pyplot.close(figure)

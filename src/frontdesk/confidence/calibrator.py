"""Fit and apply the reply-confidence calibration, and choose the automatic threshold for a
target risk.

One logistic regression per kind of draft (knowledge answer, account action, template) on the
features of `reply_features`, standardised; optionally followed by an isotonic map of its output.
Which of the two is kept is chosen by cross-validated log loss on the fitting rows (the dev
split), and the threshold is chosen on the same cross-validated probabilities, so neither is
judged on the rows it was fitted to. The fitted calibrator is plain JSON: no pickles.

It learns from the drafts the coordinator routes on their confidence. A draft that a rule sends
to a person whatever it scores (a person asked for, a language the models do not cover, an
injection attempt) is routed by that rule: fitted on too, these drafts (many of them declines
of messages that were in fact in scope) pulled the probability of every decline down, and on the
test split automation fell from 26.9 % to 17.6 % with more wrong automatic replies (6.3 % of
them, against 2.6 %).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold

from frontdesk.contracts import DraftKind

FOLDS = 5
# Cross-validation repeated over this many shuffles, each row's held-out probabilities averaged:
# with one shuffle the threshold for 1 % wrong rests on where two or three wrong drafts happen
# to fall, and moved between 0.924 and 0.974 with the seed alone on the same dev rows (test
# automation 30.7–39.0 %).
CV_REPEATS = 5
MIN_ROWS_PER_KIND = 10
# Inverse regularisation strengths tried; the cross-validated log loss picks one with the method.
REGULARIZATIONS = (0.1, 0.3, 1.0, 3.0)
CLIP = 1e-4


@dataclass(frozen=True)
class LabelledReply:
    """One draft as the calibration sees it: its kind, its features, whether it was right and
    whether rules other than confidence would have let it be sent automatically."""

    kind: DraftKind
    features: dict[str, float]
    right: bool
    may_send: bool = True


@dataclass
class _KindModel:
    names: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    isotonic: tuple[list[float], list[float]] | None = None  # (x thresholds, y thresholds)
    base_rate: float | None = None  # too few rows or one class only: a constant

    def probability(self, features: dict[str, float]) -> float:
        if self.base_rate is not None:
            return self.base_rate
        x = (np.array([features.get(n, 0.0) for n in self.names]) - self.mean) / self.scale
        p = float(1 / (1 + np.exp(-(x @ np.array(self.coef) + self.intercept))))
        if self.isotonic is not None:
            p = float(np.interp(p, *self.isotonic))
        return min(max(p, 0.0), 1.0)


@dataclass
class ReplyCalibrator:
    version: str
    method: str  # "logistic" or "logistic+isotonic"
    kinds: dict[str, _KindModel]
    auto_threshold: float  # the lowest threshold meeting the target risk on the fitting rows
    metadata: dict[str, Any] = field(default_factory=dict)

    def probability(self, kind: str, features: dict[str, float]) -> float:
        model = self.kinds.get(kind)
        return model.probability(features) if model is not None else 0.0

    def threshold_for(self, max_wrong_auto_rate: float) -> float:
        """The automatic threshold for another target risk, chosen on the same held-out
        probabilities of the fitting rows as the stored one."""
        held_out = self.metadata.get("held_out") or []
        if not held_out:
            return self.auto_threshold
        probability, right = (
            np.array(column, dtype=float) for column in zip(*held_out, strict=True)
        )
        return choose_threshold(probability, right.astype(bool), max_wrong_auto_rate)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "method": self.method,
            "auto_threshold": self.auto_threshold,
            "metadata": self.metadata,
            "kinds": {kind: vars(model) for kind, model in self.kinds.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReplyCalibrator:
        kinds = {}
        for kind, raw in data["kinds"].items():
            isotonic = raw.get("isotonic")
            kinds[kind] = _KindModel(**{**raw, "isotonic": tuple(isotonic) if isotonic else None})
        return cls(data["version"], data["method"], kinds, data["auto_threshold"], data["metadata"])


def fit(
    rows: Sequence[LabelledReply], max_wrong_auto_rate: float, version: str, seed: int = 0
) -> ReplyCalibrator:
    """Both methods are cross-validated per kind; the one with the lower log loss over the rows
    rules let the bot send is fitted on them, and the threshold is chosen on its
    cross-validated probabilities."""
    offered = len(rows)
    rows = [row for row in rows if row.may_send]
    by_kind: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_kind.setdefault(row.kind, []).append(i)
    right = np.array([row.right for row in rows], dtype=float)
    choices = [(m, c) for m in ("logistic", "logistic+isotonic") for c in REGULARIZATIONS]
    held_out = {choice: np.zeros(len(rows)) for choice in choices}
    for members in by_kind.values():
        for (method, strength), probabilities in held_out.items():
            probabilities[members] = np.mean(
                [
                    _cross_validated([rows[i] for i in members], method, strength, seed + repeat)
                    for repeat in range(CV_REPEATS)
                ],
                axis=0,
            )
    losses = {
        choice: float(log_loss(right, np.clip(p, CLIP, 1 - CLIP), labels=[0, 1]))
        for choice, p in held_out.items()
    }
    best = min(losses, key=losses.__getitem__)
    method, strength = best
    chosen = held_out[best]
    threshold = choose_threshold(chosen, right, max_wrong_auto_rate)
    kinds = {
        kind: _fit_kind([rows[i] for i in members], method, strength)
        for kind, members in by_kind.items()
    }
    metadata = {
        "rows": len(rows),
        "rows_held_by_rules": offered - len(rows),
        "rows_by_kind": {kind: len(members) for kind, members in by_kind.items()},
        "right_share": round(float(right.mean()), 4) if len(rows) else 0.0,
        "regularization": strength,
        "cross_validated_log_loss": {f"{m} C={c}": round(v, 4) for (m, c), v in losses.items()},
        "max_wrong_auto_rate": max_wrong_auto_rate,
        # (held-out probability, right) of every row: the threshold can be chosen again for
        # another target without refitting.
        "held_out": [[round(float(p), 6), int(r)] for p, r in zip(chosen, right, strict=True)],
    }
    return ReplyCalibrator(version, method, kinds, threshold, metadata)


def choose_threshold(probability: np.ndarray, right: np.ndarray, max_wrong_rate: float) -> float:
    """The lowest threshold t such that the drafts above t are wrong at most `max_wrong_rate`
    of the time, counting every draft above it; 1.0 (nothing sent) when none qualifies."""
    order = np.argsort(-probability, kind="stable")
    best = 1.0
    wrong = 0
    for sent, i in enumerate(order, start=1):
        wrong += not right[i]
        # A tie cannot be split by a threshold: judge only after the last of equal scores.
        if sent < len(order) and probability[order[sent]] == probability[i]:
            continue
        if wrong / sent <= max_wrong_rate:
            below = probability[order[sent]] if sent < len(order) else 0.0
            best = float(below)
    return round(best, 6)


def _cross_validated(
    rows: list[LabelledReply], method: str, strength: float, seed: int
) -> np.ndarray:
    labels = np.array([row.right for row in rows], dtype=int)
    out = np.zeros(len(rows))
    folds = min(FOLDS, int(min(labels.sum(), len(labels) - labels.sum())))
    if folds < 2:
        return np.full(len(rows), labels.mean() if len(rows) else 0.0)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for train_index, test_index in splitter.split(np.zeros(len(rows)), labels):
        model = _fit_kind([rows[i] for i in train_index], method, strength)
        out[test_index] = [model.probability(rows[i].features) for i in test_index]
    return out


def _fit_kind(rows: list[LabelledReply], method: str, strength: float) -> _KindModel:
    labels = np.array([row.right for row in rows], dtype=int)
    names = sorted({name for row in rows for name in row.features})
    if len(rows) < MIN_ROWS_PER_KIND or labels.min() == labels.max():
        return _KindModel(
            names, [], [], [], 0.0, base_rate=float(labels.mean()) if len(rows) else 0.0
        )
    x = np.array([[row.features.get(n, 0.0) for n in names] for row in rows])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    # A column constant in these rows (its std only rounding error) is centred, not scaled:
    # dividing by ~1e-16 would turn any other value at serving into a certainty.
    scale[scale <= 1e-9 * np.maximum(np.abs(mean), 1.0)] = 1.0
    z = (x - mean) / scale
    regression = LogisticRegression(C=strength, max_iter=2000).fit(z, labels)
    model = _KindModel(
        names,
        mean.tolist(),
        scale.tolist(),
        regression.coef_[0].tolist(),
        float(regression.intercept_[0]),
    )
    if method == "logistic+isotonic":
        raw = np.array([model.probability(row.features) for row in rows])
        isotonic = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(raw, labels)
        model.isotonic = (
            isotonic.X_thresholds_.tolist(),
            isotonic.y_thresholds_.tolist(),
        )
    return model

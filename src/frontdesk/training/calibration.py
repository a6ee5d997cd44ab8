"""Making the top confidence mean what it says, and measuring how well it does.

Two calibrators, both fitted on the validation split only: temperature scaling (one number that
softens or sharpens all probabilities, cannot change the ranking) and isotonic regression on the
top confidence (a monotone map from raw confidence to observed accuracy). Which one serves is
chosen by cross-fitting on validation: fit on one half, measure ECE on the other, then swap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.isotonic import IsotonicRegression

ECE_BINS = 15


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray) -> float:
    """Average |accuracy − confidence| over equal-width confidence bins, weighted by bin size."""
    if len(confidence) == 0:
        return 0.0
    bins = np.minimum((confidence * ECE_BINS).astype(int), ECE_BINS - 1)
    error = 0.0
    for b in np.unique(bins):
        members = bins == b
        error += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(error)


@dataclass
class Calibrator:
    """Turns raw logits into calibrated class probabilities (rows sum to at most one)."""

    method: str  # "temperature" or "isotonic"
    temperature: float = 1.0
    isotonic: IsotonicRegression | None = None

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        scaled = softmax(logits / self.temperature)
        if self.method == "temperature" or self.isotonic is None:
            return scaled
        top = scaled.max(axis=1)
        mapped = np.clip(self.isotonic.predict(top), 1e-6, 1.0)
        # Runner-up probabilities keep their proportions and share what the top one gave up.
        rest = np.where(top < 1.0, (1.0 - mapped) / np.maximum(1.0 - top, 1e-12), 0.0)
        calibrated = scaled * rest[:, None]
        calibrated[np.arange(len(top)), scaled.argmax(axis=1)] = mapped
        return calibrated


def fit_temperature(logits: np.ndarray, targets: np.ndarray) -> Calibrator:
    rows = np.arange(len(targets))

    def negative_log_likelihood(log_temperature: float) -> float:
        scaled = logits / np.exp(log_temperature)
        scaled = scaled - scaled.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(scaled).sum(axis=1))
        return float((log_norm - scaled[rows, targets]).mean())

    best = minimize_scalar(negative_log_likelihood, bounds=(-4.0, 4.0), method="bounded")
    return Calibrator("temperature", temperature=float(np.exp(best.x)))


def fit_isotonic(logits: np.ndarray, targets: np.ndarray) -> Calibrator:
    # Temperature first makes the raw confidences spread out before the monotone map.
    scaled = fit_temperature(logits, targets)
    probabilities = softmax(logits / scaled.temperature)
    correct = (probabilities.argmax(axis=1) == targets).astype(float)
    # A perfect validation record is evidence of high accuracy, not proof of certainty.
    ceiling = 1.0 - 1.0 / (len(targets) + 2)
    isotonic = IsotonicRegression(y_min=0.0, y_max=ceiling, out_of_bounds="clip")
    isotonic.fit(probabilities.max(axis=1), correct)
    return Calibrator("isotonic", temperature=scaled.temperature, isotonic=isotonic)


FITTERS = {"temperature": fit_temperature, "isotonic": fit_isotonic}


def cross_fitted_ece(method: str, logits: np.ndarray, targets: np.ndarray, seed: int = 0) -> float:
    """ECE of `method` measured on the half of validation it was not fitted on (both ways)."""
    order = np.random.default_rng(seed).permutation(len(targets))
    halves = [order[: len(order) // 2], order[len(order) // 2 :]]
    errors = []
    for fit_on, measure_on in [halves, halves[::-1]]:
        calibrator = FITTERS[method](logits[fit_on], targets[fit_on])
        probabilities = calibrator.probabilities(logits[measure_on])
        correct = probabilities.argmax(axis=1) == targets[measure_on]
        errors.append(expected_calibration_error(probabilities.max(axis=1), correct))
    return float(np.mean(errors))


def choose_calibrator(
    logits: np.ndarray, targets: np.ndarray, method: str = "auto"
) -> tuple[Calibrator, dict[str, float]]:
    """The calibrator to serve, fitted on all of validation, and each candidate's held-out ECE.
    Isotonic needs enough rows to estimate its steps; below that, temperature alone."""
    candidates = list(FITTERS) if method == "auto" else [method]
    if method == "auto" and len(targets) < 200:
        candidates = ["temperature"]
    scores = {name: cross_fitted_ece(name, logits, targets) for name in candidates}
    chosen = min(scores, key=lambda name: (scores[name], name != "temperature"))
    return FITTERS[chosen](logits, targets), scores

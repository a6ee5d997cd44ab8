"""Puts on every draft the probability that it is the right reply."""

from __future__ import annotations

from frontdesk.confidence.calibrator import ReplyCalibrator
from frontdesk.confidence.features import reply_features
from frontdesk.contracts import DraftReply, IntentPrediction


class ReplyScorer:
    """With a fitted calibrator, the calibrated probability; without one (before the first
    `frontdesk train`), the drafting agent's own estimate, or the intent's confidence, marked
    uncalibrated in the draft's signals."""

    def __init__(self, calibrator: ReplyCalibrator | None) -> None:
        self.calibrator = calibrator

    @property
    def version(self) -> str | None:
        return self.calibrator.version if self.calibrator else None

    def score(self, text: str, intent: IntentPrediction, draft: DraftReply) -> DraftReply:
        features = reply_features(intent, draft, text)
        if self.calibrator is None:
            own = draft.confidence
            if own is None:
                own = 1.0 if draft.in_dialogue else intent.confidence
            return draft.model_copy(
                update={"confidence": own, "signals": {**features, "calibrated": 0.0}}
            )
        probability = self.calibrator.probability(draft.kind, features)
        return draft.model_copy(
            update={
                "confidence": round(probability, 4),
                "signals": {**features, "calibrated": 1.0},
            }
        )

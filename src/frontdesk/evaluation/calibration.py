"""Fitting the reply-confidence calibration: the dev split replayed through the pipeline, plus
what people decided in the inbox, turned into labelled drafts."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from frontdesk.clock import utcnow
from frontdesk.confidence.calibrator import LabelledReply, ReplyCalibrator, fit
from frontdesk.confidence.features import stored_features
from frontdesk.config import Settings
from frontdesk.evaluation.dataset import EvalItem, split
from frontdesk.evaluation.metrics import ItemOutcome
from frontdesk.evaluation.replay import Progress, replay
from frontdesk.store.handoffs import ReplyVerdict


def replayed_rows(outcomes: Sequence[ItemOutcome]) -> list[LabelledReply]:
    return [
        LabelledReply(
            kind=outcome.draft_kind,
            features=outcome.features,
            right=outcome.right_reply,
            may_send=outcome.routed_on_confidence,
        )
        for outcome in outcomes
    ]


def inbox_rows(verdicts: Sequence[ReplyVerdict]) -> list[LabelledReply]:
    """A person's verdict on a draft the bot did not send: sent as drafted is right; edited,
    rewritten or a wrong intent is wrong. Only scored drafts carry the features."""
    return [
        LabelledReply(kind=v.draft.kind, features=stored_features(v.draft), right=v.right)
        for v in verdicts
        if v.draft.signals
    ]


def fit_calibrator(
    items: Sequence[EvalItem],
    settings: Settings,
    verdicts: Sequence[ReplyVerdict] = (),
    progress: Progress | None = None,
) -> ReplyCalibrator:
    """Replay the dev side of `items` with the serving models, and fit on it and the inbox's
    verdicts; the version names what it was fitted on."""
    dev, _test = split(items)
    outcomes = replay(dev, settings, progress)
    rows = replayed_rows(outcomes) + inbox_rows(verdicts)
    digest = hashlib.sha256(
        json.dumps([[r.kind, r.right, sorted(r.features.items())] for r in rows]).encode()
    ).hexdigest()[:10]
    version = f"{utcnow():%Y%m%d%H%M%S}-{digest}"
    calibrator = fit(rows, settings.routing.max_wrong_auto_rate, version)
    calibrator.metadata.update({"dev_items": len(dev), "inbox_verdicts": len(rows) - len(outcomes)})
    return calibrator

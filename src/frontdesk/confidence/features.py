"""What the calibrator reads about a draft: the intent agent's view of the message and what the
drafting agent knows of its reply (section match and margin, dialogue step, tool outcomes)."""

from __future__ import annotations

import math

from frontdesk.contracts import DraftReply, IntentPrediction
from frontdesk.vocabulary import sentences

INTENT_PREFIX = "intent."
MESSAGE_PREFIX = "message."
# Read from the draft itself, or written by the scorer: never taken from stored signals.
OWN = frozenset({"grounded", "written_by_model", "in_dialogue", "calibrated"})


def reply_features(intent: IntentPrediction, draft: DraftReply, text: str) -> dict[str, float]:
    """Named numbers, the same for a live draft and a stored one: the drafting agent's signals,
    the intent's confidence, margin and scope, and the message's size (a long message tends to
    hold more than one request, or a story a reply from an article does not settle)."""
    ranked = sorted((alt.confidence for alt in intent.alternatives), reverse=True)
    runner_up = next((c for c in ranked if c < intent.confidence), 0.0) if ranked else 0.0
    features = {
        f"{INTENT_PREFIX}confidence": intent.confidence,
        f"{INTENT_PREFIX}margin": intent.confidence - runner_up,
        f"{INTENT_PREFIX}out_of_scope": float(intent.out_of_scope),
        f"{INTENT_PREFIX}unsupported_language": float(intent.language is not None),
        "grounded": float(draft.grounded),
        "written_by_model": float(draft.written_by_model),
        "in_dialogue": float(draft.in_dialogue),
        f"{MESSAGE_PREFIX}words": math.log1p(len(text.split())),
        f"{MESSAGE_PREFIX}sentences": float(len(sentences(text))),
        f"{MESSAGE_PREFIX}questions": float(text.count("?")),
    }
    if intent.action_probability is not None:
        features[f"{INTENT_PREFIX}action_probability"] = intent.action_probability
    for name, value in draft.signals.items():
        if not name.startswith((INTENT_PREFIX, MESSAGE_PREFIX)) and name not in OWN:
            features[name] = value
    return features


def stored_features(draft: DraftReply) -> dict[str, float]:
    """The features a scored draft was routed on, as the scorer kept them in its signals."""
    return {name: value for name, value in draft.signals.items() if name != "calibrated"}

"""What every guardrail looks at and answers: one subject in, one pass/trip verdict out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from frontdesk.contracts import DraftReply, GuardrailStage, GuardrailVerdict, IntentPrediction


@dataclass(frozen=True)
class GuardrailSubject:
    """A customer message, what the agents made of it, and the evidence the draft may rest on."""

    text: str
    intent: IntentPrediction
    draft: DraftReply
    passages: dict[str, str] = field(default_factory=dict)  # chunk id → text of a cited source
    tool_outputs: list[str] = field(default_factory=list)  # tool results as JSON


class Guardrail(Protocol):
    name: str
    stage: GuardrailStage

    def check(self, subject: GuardrailSubject) -> GuardrailVerdict: ...


def verdict(
    guardrail: Guardrail, tripped: bool, reason: str, evidence: list[str] | None = None
) -> GuardrailVerdict:
    return GuardrailVerdict(
        guardrail=guardrail.name,
        stage=guardrail.stage,
        tripped=tripped,
        reason=reason,
        evidence=evidence or [],
    )


def is_generated(draft: DraftReply) -> bool:
    """Free text from a language model, as opposed to sentences our code composed from
    templates, passages or tool results."""
    return draft.written_by_model

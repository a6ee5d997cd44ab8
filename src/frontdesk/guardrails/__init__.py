"""Guardrails: small checks of a message and its draft, each answering pass or trip with a reason.

The pipeline runs them on every turn and hands the verdicts to the coordinator, whose
`guardrail_tripped` rule (and a safety net under it) keeps a tripped turn from being sent
automatically.
"""

from __future__ import annotations

from collections.abc import Sequence

from frontdesk.contracts import GuardrailVerdict
from frontdesk.guardrails.base import Guardrail, GuardrailSubject
from frontdesk.guardrails.grounding import Groundedness
from frontdesk.guardrails.injection import PromptInjection
from frontdesk.guardrails.off_topic import OffTopic
from frontdesk.guardrails.pii import PiiDisclosure, find_pii, redact
from frontdesk.guardrails.promises import PolicyPromise

__all__ = [
    "Guardrail",
    "GuardrailSubject",
    "Guardrails",
    "default_guardrails",
    "find_pii",
    "redact",
]


def default_guardrails() -> list[Guardrail]:
    return [PromptInjection(), OffTopic(), Groundedness(), PolicyPromise(), PiiDisclosure()]


class Guardrails:
    def __init__(self, guardrails: Sequence[Guardrail] | None = None) -> None:
        self.guardrails = list(default_guardrails() if guardrails is None else guardrails)

    def check(self, subject: GuardrailSubject) -> list[GuardrailVerdict]:
        """Every guardrail's verdict; what made one trip is stored, so it is redacted first."""
        verdicts = []
        for guardrail in self.guardrails:
            found = guardrail.check(subject)
            if found.evidence:
                found = found.model_copy(update={"evidence": [redact(e) for e in found.evidence]})
            verdicts.append(found)
        return verdicts

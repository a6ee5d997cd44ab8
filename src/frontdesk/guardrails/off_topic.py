"""Off-topic: the intent agent says the message is outside what the shop's assistant handles."""

from __future__ import annotations

from frontdesk.contracts import GuardrailStage, GuardrailVerdict
from frontdesk.guardrails.base import GuardrailSubject, verdict


class OffTopic:
    """Trips when an out-of-scope message would get anything but the polite refusal template:
    the assistant must not answer questions it was not built for ("write me a poem")."""

    name = "off_topic"
    stage: GuardrailStage = "input"

    def check(self, subject: GuardrailSubject) -> GuardrailVerdict:
        intent, draft = subject.intent, subject.draft
        if not intent.out_of_scope:
            return verdict(self, False, f"in scope ({intent.label})")
        if draft.kind == "template":
            return verdict(self, False, "out of scope, answered with the refusal template")
        if draft.kind == "action" and draft.in_dialogue:
            # An answer to the assistant's own question ("zip 02119") reads as out of scope
            # to a classifier that sees it alone; the dialogue that asked for it judges it.
            return verdict(self, False, f"a dialogue turn of {draft.agent}")
        return verdict(
            self,
            True,
            f"out of scope (intent {intent.label} at {intent.confidence:.2f}) but the draft "
            f"answers it ({draft.kind})",
        )

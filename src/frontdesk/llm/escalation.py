"""The escalation agent's reply drafted by a (stronger) language model from the prepared case.

The model sees the customer's message and the case the policy engine computed, and writes only
the reply; the options, sums and deadlines stay the engine's. A failing model leaves the
templated draft in place.
"""

from __future__ import annotations

import time

import structlog
from pydantic_ai import Agent
from pydantic_ai.models import Model

from frontdesk.contracts import EscalationCase
from frontdesk.guardrails.pii import redact
from frontdesk.llm.models import PROVIDER_FAILURES
from frontdesk.llm.usage import UsageMeter, elapsed_ms

log = structlog.get_logger(__name__)

INSTRUCTIONS = """\
You draft a reply for a senior customer-service specialist to review and send. Use only the
options, amounts and deadlines in the case; promise nothing the options do not allow. Say plainly
which requests are exceptions the specialist is reviewing. Be warm, brief and concrete."""


class LlmDrafter:
    def __init__(self, model: Model, meter: UsageMeter, *, redact_personal_data: bool) -> None:
        self.meter = meter
        self.redact_personal_data = redact_personal_data
        self.agent: Agent[None, str] = Agent(model, instructions=INSTRUCTIONS)

    def draft(self, text: str, case: EscalationCase) -> str:
        prompt = (
            f"Customer message: {text}\n\nCase summary:\n{case.summary}\n\n"
            f"Options (JSON): {[o.model_dump(mode='json') for o in case.options]}\n"
            f"Exceptions asked: {case.exceptions}\n\nTemplate draft: {case.draft}"
        )
        if self.redact_personal_data:
            prompt = redact(prompt)
        started = time.perf_counter()
        try:
            result = self.agent.run_sync(prompt)
        except PROVIDER_FAILURES as exc:
            self.meter.record("failed", elapsed_ms(started))
            log.warning("llm.escalation_draft_failed", error=redact(str(exc)))
            return case.draft
        self.meter.record("ok", elapsed_ms(started), result.usage)
        return result.output

"""The escalation agent's reply drafted by a (stronger) language model from the prepared case.

The model sees the customer's message and the case the policy engine computed, and writes only
the reply; the options, sums and deadlines stay the engine's. A failing model leaves the
templated draft in place.
"""

from __future__ import annotations

import structlog
from pydantic_ai import Agent
from pydantic_ai.exceptions import AgentRunError, ModelHTTPError, UnexpectedModelBehavior
from pydantic_ai.models import Model

from frontdesk.contracts import EscalationCase

log = structlog.get_logger(__name__)

INSTRUCTIONS = """\
You draft a reply for a senior customer-service specialist to review and send. Use only the
options, amounts and deadlines in the case; promise nothing the options do not allow. Say plainly
which requests are exceptions the specialist is reviewing. Be warm, brief and concrete."""


class LlmDrafter:
    def __init__(self, model: Model) -> None:
        self.agent: Agent[None, str] = Agent(model, instructions=INSTRUCTIONS)

    def draft(self, text: str, case: EscalationCase) -> str:
        prompt = (
            f"Customer message: {text}\n\nCase summary:\n{case.summary}\n\n"
            f"Options (JSON): {[o.model_dump(mode='json') for o in case.options]}\n"
            f"Exceptions asked: {case.exceptions}\n\nTemplate draft: {case.draft}"
        )
        try:
            return self.agent.run_sync(prompt).output
        except (AgentRunError, ModelHTTPError, UnexpectedModelBehavior, OSError) as exc:
            log.warning("llm.escalation_draft_failed", error=str(exc))
            return case.draft

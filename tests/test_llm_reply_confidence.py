"""A language model's knowledge answers go through the same reply-confidence calibration as the
extractive ones: the draft carries the section match, whether it cites the best-matching section
and how much of its wording the cited sections hold, and the scorer turns them into P(right).
Against the local server speaking the OpenAI protocol; no hosted model is called."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from fake_openai import FakeOpenAI, say, serve
from frontdesk.agents.response import ResponseAgent
from frontdesk.confidence.calibrator import LabelledReply, fit
from frontdesk.confidence.scorer import ReplyScorer
from frontdesk.config import LlmSettings
from frontdesk.contracts import InboundMessage, IntentPrediction
from frontdesk.knowledge.index import Passage
from frontdesk.llm.answering import build_answerer

BEST = Passage(
    "c-norway", "demo:shipping.md", "Shipping", "Shipping › Do you ship to Norway?",
    "We ship to Norway; delivery takes 5-7 business days.", 0.8,
    rank_score=0.95, coverage=0.8, question_similarity=0.9, text_similarity=0.7,
)  # fmt: skip
RUNNER_UP = Passage(
    "c-returns", "demo:returns.md", "Returns", "Returns › How do I return an item?",
    "Unused items can be returned within 30 days of delivery.", 0.3,
    rank_score=0.4, coverage=0.2, question_similarity=0.3, text_similarity=0.2,
)  # fmt: skip


class FixedIndex:
    def search_many(self, queries: list[str], k: int = 5) -> list[list[Passage]]:
        return [[BEST, RUNNER_UP] for _ in queries]

    def headings(self) -> list[str]:
        return [BEST.heading, RUNNER_UP.heading]

    def __len__(self) -> int:
        return 2


def message(text: str) -> InboundMessage:
    return InboundMessage(
        id="m1", conversation_id="c1", channel="api", text=text, received_at=datetime.now(UTC)
    )


INTENT = IntentPrediction(
    label="delivery_options", confidence=0.93, model_version="t", out_of_scope=False
)


@pytest.fixture
def fake(request: pytest.FixtureRequest) -> Iterator[str]:
    with serve(FakeOpenAI(request.param)) as url:
        yield url


def llm_agent(url: str) -> ResponseAgent:
    settings = LlmSettings.model_validate(
        {"provider": "openai", "base_url": url, "model": "test-model", "max_retries": 0}
    )
    answerer = build_answerer(settings, lambda call: None)
    assert answerer is not None
    return ResponseAgent(FixedIndex(), "Acme", 0.05, answerer)


def calibrator_that_trusts_citing_the_best_section() -> ReplyScorer:
    rows = [
        LabelledReply("knowledge", {"cites_best": float(cites), "grounding": 0.8}, bool(cites))
        for cites in [1, 0] * 30
    ]
    rows += [LabelledReply("knowledge", {"cites_best": 1.0, "grounding": 0.8}, False)] * 3
    return ReplyScorer(fit(rows, 0.05, "test"))


@pytest.mark.parametrize(
    "fake",
    [[say("Yes, we ship to Norway [1]. Delivery takes 5-7 business days [1]."),
      say("Unused items can be returned within 30 days [2].")]],
    indirect=True,
)  # fmt: skip
def test_model_answers_carry_match_signals_and_are_calibrated(fake: str) -> None:
    agent = llm_agent(fake)
    scorer = calibrator_that_trusts_citing_the_best_section()
    question = message("Do you ship to Norway?")
    [on_best] = agent.draft([question], [INTENT])
    [off_best] = agent.draft([question], [INTENT])
    assert on_best.written_by_model and off_best.written_by_model
    assert on_best.signals["cites_best"] == 1.0 and off_best.signals["cites_best"] == 0.0
    assert on_best.signals["grounding"] > 0.5
    for draft in (on_best, off_best):
        assert draft.signals["rank_score"] == pytest.approx(0.95)
        assert draft.signals["margin"] == pytest.approx(0.55)
    trusted = scorer.score(question.text, INTENT, on_best)
    doubted = scorer.score(question.text, INTENT, off_best)
    assert trusted.signals["calibrated"] == 1.0 and trusted.signals["written_by_model"] == 1.0
    assert trusted.confidence is not None and doubted.confidence is not None
    assert trusted.confidence > 0.8 > 0.2 > doubted.confidence

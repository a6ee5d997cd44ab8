"""The response agent answers from one section, lists the next-best ones for a person, lets the
intent model's reading of each section's question settle near ties, and says how well the section
matched."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from frontdesk.agents.response import ResponseAgent
from frontdesk.contracts import InboundMessage, IntentPrediction
from frontdesk.knowledge.index import Passage


def passage(chunk: str, heading: str, text: str, rank: float) -> Passage:
    return Passage(
        chunk, f"demo:{chunk}.md", heading.split(" › ")[0], heading, text, 0.6,
        rank_score=rank, coverage=0.6, question_similarity=0.7, text_similarity=0.6,
    )  # fmt: skip


WARRANTY = passage(
    "warranty", "Warranty › How long is the warranty on kitchen items?",
    "Kitchen items have a 1-year warranty. Cast iron has a lifetime warranty.", 0.80,
)  # fmt: skip
CARE = passage(
    "care", "Care › How do I look after cast iron?",
    "Dry cast iron at once and oil it lightly. Never put it in the dishwasher.", 0.82,
)  # fmt: skip
REFUNDS = passage("refunds", "Refunds › How long does a refund take?", "5-7 days.", 0.3)


class FixedIndex:
    def __init__(self, passages: list[Passage]) -> None:
        self.passages = passages

    def search_many(self, queries: list[str], k: int = 5) -> list[list[Passage]]:
        return [sorted(self.passages, key=lambda p: -p.rank_score)[:k] for _ in queries]

    def headings(self) -> list[str]:
        return list(dict.fromkeys(p.heading for p in self.passages))

    def __len__(self) -> int:
        return len(self.passages)


def intent(label: str, confidence: float = 0.9) -> IntentPrediction:
    return IntentPrediction(
        label=label, confidence=confidence, model_version="t", out_of_scope=False
    )


def message(text: str) -> InboundMessage:
    return InboundMessage(
        id="m", conversation_id="c", channel="api", text=text, received_at=datetime.now(UTC)
    )


def topics(texts: list[str]) -> list[IntentPrediction]:
    """A stand-in intent model: questions about warranties are `warranty`, the rest `care`."""
    return [intent("warranty" if "warranty" in t else "care", 0.95) for t in texts]


QUESTION = message("whats the warranty on the cast iron pan")


def test_the_reply_rests_on_one_section_and_names_the_next_best() -> None:
    agent = ResponseAgent(FixedIndex([CARE, WARRANTY, REFUNDS]), "Acme", 0.05)
    [draft] = agent.draft([QUESTION], [intent("warranty")])
    assert [source.chunk_id for source in draft.sources] == ["care"]
    assert "warranty" not in draft.text.split("Source:")[0].lower()  # nothing stitched in
    assert [c.chunk_id for c in draft.candidates] == ["warranty", "refunds"]
    assert draft.signals["margin"] == round(0.82 - 0.80, 4)
    assert draft.signals["question_margin"] == 0.0
    assert "topic_agreement" not in draft.signals


def test_a_section_about_the_messages_intent_wins_a_near_tie() -> None:
    agent = ResponseAgent(FixedIndex([CARE, WARRANTY, REFUNDS]), "Acme", 0.05, topics=topics)
    [draft] = agent.draft([QUESTION], [intent("warranty")])
    assert [source.chunk_id for source in draft.sources] == ["warranty"]
    assert "1-year warranty" in draft.text
    assert draft.signals["topic_agreement"] == 0.95


def test_the_intent_does_not_outweigh_a_clear_match() -> None:
    clear_care = replace(CARE, rank_score=0.99)
    agent = ResponseAgent(FixedIndex([clear_care, WARRANTY]), "Acme", 0.05, topics=topics)
    [draft] = agent.draft([QUESTION], [intent("warranty")])
    assert [source.chunk_id for source in draft.sources] == ["care"]
    assert draft.signals["topic_agreement"] == 0.0


def counted_topics() -> tuple[list[list[str]], Callable[[list[str]], list[IntentPrediction]]]:
    """`topics`, and the list of the texts of each call made to it."""
    calls: list[list[str]] = []

    def counted(texts: list[str]) -> list[IntentPrediction]:
        calls.append(texts)
        return topics(texts)

    return calls, counted


def test_section_questions_are_read_once_in_one_call_per_batch() -> None:
    calls, counted = counted_topics()
    agent = ResponseAgent(FixedIndex([CARE, WARRANTY, REFUNDS]), "Acme", 0.05, topics=counted)
    agent.draft([QUESTION, message("and the kettle?")], [intent("warranty")] * 2)
    assert len(calls) == 1 and len(calls[0]) == len(set(calls[0])) == 3
    agent.draft([QUESTION], [intent("warranty")])
    assert len(calls) == 1  # read already


def test_a_warmed_up_agent_reads_no_section_question_for_a_customer() -> None:
    calls, counted = counted_topics()
    agent = ResponseAgent(FixedIndex([CARE, WARRANTY, REFUNDS]), "Acme", 0.05, topics=counted)
    agent.warm_up()
    assert len(calls) == 1 and len(calls[0]) == 3
    [draft] = agent.draft([QUESTION], [intent("warranty")])
    assert len(calls) == 1 and draft.signals["topic_agreement"] > 0

"""Response agent: drafts a reply grounded in the knowledge base, citing the passages it uses.

Without a language model the reply is extractive: the retrieved sentences that best match the
question, in their original order, so every sentence is supported by construction. An
`Answerer` (a language model constrained to the passages) may write the reply instead; when it
declines or fails it returns None and the extractive reply is sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from frontdesk.contracts import (
    DraftReply,
    GroundedAnswer,
    InboundMessage,
    IntentPrediction,
    Source,
)
from frontdesk.knowledge.index import KnowledgeIndex, Passage
from frontdesk.knowledge.terms import query_terms, stems
from frontdesk.vocabulary import sentences

AGENT = "response-agent/extractive-2"
MARKDOWN_NOISE = re.compile(r"^\s*(?:[-*+>]|\d+\.)\s+|[*_`#]", re.MULTILINE)
LIST_AFTER_COLON = re.compile(r":[ \t]*\n\s*(?:[-*+]|\d+\.)\s+")
LIST_ITEM = re.compile(r"(?<![.!?:\n])([,;]?)[ \t]*\n\s*(?:[-*+]|\d+\.)\s+")
ANSWER_CHARS = 420
CITED_PASSAGES = 3
MAX_SENTENCES = 3
TERSE_WORDS = 2
# A top passage scoring this much (half its words' weight and half the cosine) is strong
# retrieval; below it the draft's confidence falls in proportion.
STRONG_RETRIEVAL = 0.45
# An answer whose sentences hold this share of the question's words is well grounded.
STRONG_GROUNDING = 0.5


class Answerer(Protocol):
    def answer(
        self,
        question: str,
        passages: list[Passage],
        on_text: Callable[[str], None] | None = None,
    ) -> GroundedAnswer | None:
        """A reply built only from `passages`, or None to fall back to the extractive reply;
        `on_text` gets the checked text so far while it is written."""
        ...


# Shows a customer the answer to their message while it is being written.
PartialAnswers = Callable[[InboundMessage, str], None]


@dataclass(frozen=True)
class _Sentence:
    text: str
    passage: int  # rank of its passage
    order: int  # position inside the passage
    overlap: float
    words: frozenset[str]  # its own stems and those of its section's heading


class ResponseAgent:
    def __init__(
        self,
        index: KnowledgeIndex,
        company: str,
        min_score: float,
        answerer: Answerer | None = None,
        partial: PartialAnswers | None = None,
    ) -> None:
        self.index = index
        self.min_score = min_score
        self.answerer = answerer
        self.partial = partial
        self.templates = {
            "small_talk": (
                f"Hi! I'm the {company} assistant. I can help with orders, deliveries, returns, "
                "payments and your account. What can I do for you?"
            ),
            "out_of_scope": (
                f"Sorry, I can only help with {company} orders, deliveries, returns, payments and "
                "accounts. Is there something about those I can do for you?"
            ),
            "contact_human": "I'm passing you to a person from our team; they will answer here.",
        }

    def draft(
        self, messages: list[InboundMessage], intents: list[IntentPrediction]
    ) -> list[DraftReply]:
        """Drafts for a batch; the knowledge-base lookups run as one search."""
        drafts: list[DraftReply | None] = [self._template(intent) for intent in intents]
        asking = [i for i, draft in enumerate(drafts) if draft is None]
        queries = [_query(messages[i].text, intents[i]) for i in asking]
        for i, passages in zip(
            asking, self.index.search_many(queries, CITED_PASSAGES), strict=True
        ):
            drafts[i] = self._from_passages(messages[i], intents[i], passages)
        return [draft for draft in drafts if draft is not None]

    def _template(self, intent: IntentPrediction) -> DraftReply | None:
        template = self.templates.get(intent.label)
        if template is None:
            return None
        return DraftReply(text=template, kind="template", grounded=True, agent=AGENT)

    def _from_passages(
        self, message: InboundMessage, intent: IntentPrediction, passages: list[Passage]
    ) -> DraftReply:
        question = message.text
        # Retrieval ranks candidates; the reply leads with the one covering most of the question.
        passages = sorted(passages, key=lambda passage: -passage.score)
        retrieval = passages[0].score if passages else 0.0
        if retrieval < self.min_score:
            return DraftReply(
                text="I couldn't find this in our help articles; a person from our team will "
                "answer.",
                kind="knowledge",
                sources=[_source(passage) for passage in passages],
                grounded=False,
                agent=AGENT,
                confidence=round(intent.confidence * retrieval, 4),
            )
        confidence = intent.confidence * min(1.0, retrieval / STRONG_RETRIEVAL)
        if self.answerer is not None:
            partial = self.partial
            on_text = (lambda text: partial(message, text)) if partial is not None else None
            answer = self.answerer.answer(question, passages, on_text)
            if answer is not None:
                return _from_answer(answer, passages, confidence)
        asked = stems(question)
        chosen = _best_sentences(asked, passages)
        cited = sorted({sentence.passage for sentence in chosen})
        body = " ".join(sentence.text for sentence in chosen)
        headings = "; ".join(dict.fromkeys(passages[i].heading for i in cited))
        # The cited headings are part of the reply and name the question each passage answers.
        grounding = len(asked & stems(f"{headings} {body}")) / len(asked) if asked else 0.0
        confidence *= min(1.0, grounding / STRONG_GROUNDING)
        label = "Source" if len(cited) == 1 else "Sources"
        return DraftReply(
            text=f"{body}\n\n{label}: {headings}",
            kind="knowledge",
            sources=[_source(passages[i]) for i in cited],
            grounded=True,
            agent=AGENT,
            confidence=round(confidence, 4),
        )


def _query(text: str, intent: IntentPrediction) -> str:
    """The message, with the intent's name when it is terse ("where is it?"): the label adds the
    topic words it lacks, but would outweigh the words of a message that says more."""
    if len(query_terms(text)) >= TERSE_WORDS:
        return text
    return f"{text} {intent.label.replace('_', ' ')}"


def _best_sentences(asked: set[str], passages: list[Passage]) -> list[_Sentence]:
    """The sentences sharing most words with the question (counting their section's heading),
    within a chat-sized length, in the order they are read: by passage rank, then as written.
    The best passage's opening sentence is always a candidate: help sections open with the
    answer."""
    candidates = []
    for rank, passage in enumerate(passages):
        topic = stems(passage.heading)
        for order, text in enumerate(_sentences(passage.text)):
            words = frozenset(stems(text) | topic)
            overlap = len(asked & words) / (1 + rank)
            if overlap > 0 or (rank == 0 and order == 0):
                lead_bonus = 0.5 if (rank == 0 and order == 0) else 0.0
                candidates.append(_Sentence(text, rank, order, overlap + lead_bonus, words))
    chosen: list[_Sentence] = []
    covered: set[str] = set()
    length = 0
    for sentence in sorted(candidates, key=lambda s: (-s.overlap, s.passage, s.order)):
        if len(chosen) == MAX_SENTENCES:
            break
        if chosen and length + len(sentence.text) + 1 > ANSWER_CHARS:
            continue
        answered = asked & sentence.words
        # Another passage earns a place only by answering a part of the question not yet answered.
        opened = {c.passage for c in chosen}
        if opened and sentence.passage not in opened and not answered - covered:
            continue
        chosen.append(sentence)
        covered |= answered
        length += len(sentence.text) + 1
    return sorted(chosen, key=lambda s: (s.passage, s.order))


def _sentences(text: str) -> list[str]:
    # A list reads as one sentence: "These are: a; b; c."
    listed = LIST_AFTER_COLON.sub(": ", text)
    listed = LIST_ITEM.sub(lambda item: f"{item[1]} " if item[1] else "; ", listed)
    cleaned = MARKDOWN_NOISE.sub("", listed)
    return [" ".join(part.split()) for part in sentences(cleaned, lines_end_sentences=False)]


def _from_answer(answer: GroundedAnswer, passages: list[Passage], confidence: float) -> DraftReply:
    by_id = {passage.chunk_id: passage for passage in passages}
    cited = [by_id[chunk_id] for chunk_id in answer.citations if chunk_id in by_id]
    return DraftReply(
        text=answer.text,
        kind="knowledge",
        sources=[_source(passage) for passage in cited],
        grounded=bool(cited),
        agent=answer.agent,
        written_by_model=True,
        confidence=round(confidence, 4),
    )


def _source(passage: Passage) -> Source:
    return Source(
        chunk_id=passage.chunk_id,
        document=passage.source,
        title=passage.title,
        heading=passage.heading,
        score=round(passage.score, 4),
    )

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
from frontdesk.knowledge.dense import section_question
from frontdesk.knowledge.index import KnowledgeIndex, Passage
from frontdesk.knowledge.terms import query_terms, stems
from frontdesk.vocabulary import sentences

AGENT = "response-agent/extractive-2"
MARKDOWN_NOISE = re.compile(r"^\s*(?:[-*+>]|\d+\.)\s+|[*_`#]", re.MULTILINE)
LIST_AFTER_COLON = re.compile(r":[ \t]*\n\s*(?:[-*+]|\d+\.)\s+")
# Small talk that ends a conversation rather than opens one: it gets a goodbye, not a greeting.
CLOSING = re.compile(
    r"\b(?:thanks?|thank you|thx|ty|ta|cheers|appreciated?|bye|goodbye|have a (?:nice|good|great)"
    r"|that'?s (?:all|everything)|nothing else|got it|perfect|brilliant|lifesaver)\b",
    re.IGNORECASE,
)
LIST_ITEM = re.compile(r"(?<![.!?:\n])([,;]?)[ \t]*\n\s*(?:[-*+]|\d+\.)\s+")
ANSWER_CHARS = 420
# A section this short is the answer whole: picking its sentences by the words they share with
# the question dropped the fact the customer needed from 13 of 164 right sections on the dev
# split ("one email", "honing steel"). The demo sections' p90 is 416 characters, the longest 714.
WHOLE_SECTION_CHARS = 720
CANDIDATES = 8  # sections searched; the reply cites the best
MAX_SENTENCES = 3
TERSE_WORDS = 2
TOPIC_WEIGHT = 0.1
CITED_PASSAGES = 3  # shown to a language model, or to a person when nothing matches well
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


# The intents of texts, as the intent agent reads them.
SectionTopics = Callable[[list[str]], list[IntentPrediction]]

# Shows a customer the answer to their message while it is being written.
PartialAnswers = Callable[[InboundMessage, str], None]


@dataclass(frozen=True)
class _Sentence:
    text: str
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
        topics: SectionTopics | None = None,
    ) -> None:
        """`topics` reads the intent of each section's question, so that a reply whose section is
        about something else than the message (by the intent model's reading) counts less."""
        self.index = index
        self.topics = topics
        self._topic_of: dict[str, dict[str, float]] = {}
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
            "closing": "You're welcome! If there's anything else, just write here.",
            "contact_human": "I'm passing you to a person from our team; they will answer here.",
        }

    def draft(
        self, messages: list[InboundMessage], intents: list[IntentPrediction]
    ) -> list[DraftReply]:
        """Drafts for a batch; the knowledge-base lookups run as one search."""
        drafts: list[DraftReply | None] = [
            self._template(message.text, intent)
            for message, intent in zip(messages, intents, strict=True)
        ]
        asking = [i for i, draft in enumerate(drafts) if draft is None]
        queries = [_query(messages[i].text, intents[i]) for i in asking]
        found = self.index.search_many(queries, CANDIDATES)
        self._read_topics([passage.heading for passages in found for passage in passages])
        for i, passages in zip(asking, found, strict=True):
            drafts[i] = self._from_passages(messages[i], intents[i], passages)
        return [draft for draft in drafts if draft is not None]

    def warm_up(self) -> None:
        """Read the intent of every section's question now, so that no customer's message waits
        for them: on a fresh worker they cost its first messages several milliseconds each."""
        self._read_topics(self.index.headings())

    def _read_topics(self, headings: list[str]) -> None:
        """Read, in one call, the intent of each section question not read yet (kept: a
        knowledge base has a few hundred sections). One call per question cost a fresh worker
        seconds on its first messages, eight candidates each."""
        if self.topics is None:
            return
        unread = list(
            dict.fromkeys(q for q in map(section_question, headings) if q not in self._topic_of)
        )
        if not unread:
            return
        for question, read in zip(unread, self.topics(unread), strict=True):
            self._topic_of[question] = {
                read.label: read.confidence,
                **{alt.label: alt.confidence for alt in read.alternatives},
            }

    def _topic(self, heading: str) -> dict[str, float]:
        """The probability of each intent for the question a section answers."""
        self._read_topics([heading])
        return self._topic_of.get(section_question(heading), {})

    def _template(self, text: str, intent: IntentPrediction) -> DraftReply | None:
        label = intent.label
        if label == "small_talk" and CLOSING.search(text):
            label = "closing"
        template = self.templates.get(label)
        if template is None:
            return None
        return DraftReply(
            text=template,
            kind="template",
            grounded=True,
            agent=AGENT,
            signals={f"template_{intent.label}": 1.0},
        )

    def _from_passages(
        self, message: InboundMessage, intent: IntentPrediction, passages: list[Passage]
    ) -> DraftReply:
        """The reply is the best-ranked section's answer: stitching sentences of several
        sections answers questions nobody asked."""
        question = message.text
        if self.topics is not None:
            # A section about the message's intent wins a near tie (dev split: the right section
            # first for 66.7 % instead of 64.4 %).
            passages = sorted(
                passages,
                key=lambda p: (
                    -(p.rank_score + TOPIC_WEIGHT * self._topic(p.heading).get(intent.label, 0.0))
                ),
            )
        signals = _match_signals(passages)
        retrieval = passages[0].score if passages else 0.0
        if retrieval < self.min_score:
            return DraftReply(
                text="I couldn't find this in our help articles; a person from our team will "
                "answer.",
                kind="knowledge",
                sources=[_source(passage) for passage in passages[:CITED_PASSAGES]],
                grounded=False,
                agent=AGENT,
                confidence=round(intent.confidence * retrieval, 4),
                signals=signals,
            )
        best = passages[0]
        if self.topics is not None:
            signals["topic_agreement"] = round(self._topic(best.heading).get(intent.label, 0.0), 4)
        confidence = intent.confidence * min(1.0, retrieval / STRONG_RETRIEVAL)
        if self.answerer is not None:
            partial = self.partial
            on_text = (lambda text: partial(message, text)) if partial is not None else None
            answer = self.answerer.answer(question, passages[:CITED_PASSAGES], on_text)
            if answer is not None:
                return _from_answer(answer, passages[:CITED_PASSAGES], confidence, signals)
        asked = stems(question)
        body = " ".join(sentence.text for sentence in _best_sentences(asked, best))
        # The cited heading is part of the reply and names the question the passage answers.
        grounding = len(asked & stems(f"{best.heading} {body}")) / len(asked) if asked else 0.0
        confidence *= min(1.0, grounding / STRONG_GROUNDING)
        return DraftReply(
            text=f"{body}\n\nSource: {best.heading}",
            kind="knowledge",
            sources=[_source(best)],
            candidates=_others(passages),
            grounded=True,
            agent=AGENT,
            confidence=round(confidence, 4),
            signals={**signals, "grounding": round(grounding, 4)},
        )


def _others(passages: list[Passage]) -> list[Source]:
    """The best passage of each other section among the candidates, up to CITED_PASSAGES − 1."""
    seen = {passages[0].heading}
    others: list[Source] = []
    for passage in passages[1:]:
        if passage.heading not in seen and len(others) < CITED_PASSAGES - 1:
            seen.add(passage.heading)
            others.append(_source(passage))
    return others


def _match_signals(passages: list[Passage]) -> dict[str, float]:
    """How well the best section matches the question, and by how much it beats the best
    section after it: the reply-confidence calibrator's view of a knowledge answer."""
    if not passages:
        return {"passages": 0.0}
    best = passages[0]
    runner_up = next((p for p in passages[1:] if p.heading != best.heading), None)
    signals = {
        "passages": float(len(passages)),
        "rank_score": best.rank_score,
        "margin": best.rank_score - (runner_up.rank_score if runner_up else 0.0),
        "retrieval": best.score,
        "coverage": best.coverage,
    }
    if best.question_similarity is not None and best.text_similarity is not None:
        signals["question_similarity"] = best.question_similarity
        signals["text_similarity"] = best.text_similarity
        if runner_up is not None and runner_up.question_similarity is not None:
            signals["question_margin"] = best.question_similarity - runner_up.question_similarity
    return {name: round(value, 4) for name, value in signals.items()}


def _query(text: str, intent: IntentPrediction) -> str:
    """The message, with the intent's name when it is terse ("where is it?"): the label adds the
    topic words it lacks, but would outweigh the words of a message that says more."""
    if len(query_terms(text)) >= TERSE_WORDS:
        return text
    return f"{text} {intent.label.replace('_', ' ')}"


def _best_sentences(asked: set[str], passage: Passage) -> list[_Sentence]:
    """The whole passage when it is short; otherwise its sentences sharing most words with the
    question (counting the section's heading), within a chat-sized length, in the order they are
    written. The opening sentence is always a candidate: help sections open with the answer."""
    topic = stems(passage.heading)
    written = _sentences(passage.text)
    if sum(len(text) + 1 for text in written) <= WHOLE_SECTION_CHARS:
        return [_Sentence(text, order, 0.0, frozenset()) for order, text in enumerate(written)]
    candidates = []
    for order, text in enumerate(written):
        words = frozenset(stems(text) | topic)
        overlap = len(asked & words) + (0.5 if order == 0 else 0.0)
        if overlap > 0:
            candidates.append(_Sentence(text, order, overlap, words))
    chosen: list[_Sentence] = []
    length = 0
    for sentence in sorted(candidates, key=lambda s: (-s.overlap, s.order)):
        if len(chosen) == MAX_SENTENCES:
            break
        if chosen and length + len(sentence.text) + 1 > ANSWER_CHARS:
            continue
        chosen.append(sentence)
        length += len(sentence.text) + 1
    return sorted(chosen, key=lambda s: s.order)


def _sentences(text: str) -> list[str]:
    # A list reads as one sentence: "These are: a; b; c."
    listed = LIST_AFTER_COLON.sub(": ", text)
    listed = LIST_ITEM.sub(lambda item: f"{item[1]} " if item[1] else "; ", listed)
    cleaned = MARKDOWN_NOISE.sub("", listed)
    return [" ".join(part.split()) for part in sentences(cleaned, lines_end_sentences=False)]


def _from_answer(
    answer: GroundedAnswer, passages: list[Passage], confidence: float, signals: dict[str, float]
) -> DraftReply:
    by_id = {passage.chunk_id: passage for passage in passages}
    cited = [by_id[chunk_id] for chunk_id in answer.citations if chunk_id in by_id]
    # A model's answer is judged by the match of what it cites, not only of the best passage.
    cites_best = float(bool(passages) and passages[0].chunk_id in answer.citations)
    supported = stems(answer.text)
    cited_words = set().union(*(stems(f"{p.heading} {p.text}") for p in cited)) if cited else set()
    grounding = len(supported & cited_words) / len(supported) if supported else 0.0
    return DraftReply(
        text=answer.text,
        kind="knowledge",
        sources=[_source(passage) for passage in cited],
        grounded=bool(cited),
        agent=answer.agent,
        written_by_model=True,
        confidence=round(confidence, 4),
        signals={
            **signals,
            "cites_best": cites_best,
            "cited": float(len(cited)),
            "grounding": round(grounding, 4),
        },
    )


def _source(passage: Passage) -> Source:
    return Source(
        chunk_id=passage.chunk_id,
        document=passage.source,
        title=passage.title,
        heading=passage.heading,
        score=round(passage.score, 4),
    )

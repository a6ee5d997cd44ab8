"""Response agent: drafts a reply grounded in the knowledge base, citing the passage it quotes."""

from __future__ import annotations

import re

from frontdesk.contracts import DraftReply, InboundMessage, IntentPrediction, Source
from frontdesk.knowledge.index import KnowledgeIndex, Passage

AGENT = "response-agent/extractive-1"
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
MARKDOWN_NOISE = re.compile(r"^\s*(?:[-*+]|\d+\.)\s+|[*_`]", re.MULTILINE)
ANSWER_CHARS = 420
CITED_PASSAGES = 3


class ResponseAgent:
    def __init__(self, index: KnowledgeIndex, company: str, min_score: float) -> None:
        self.index = index
        self.min_score = min_score
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
        # The intent name adds the topic words a terse message may lack ("where is it?").
        queries = [f"{messages[i].text} {intents[i].label.replace('_', ' ')}" for i in asking]
        for i, passages in zip(
            asking, self.index.search_many(queries, CITED_PASSAGES), strict=True
        ):
            drafts[i] = self._from_passages(passages)
        return [draft for draft in drafts if draft is not None]

    def _template(self, intent: IntentPrediction) -> DraftReply | None:
        template = self.templates.get(intent.label)
        if template is None:
            return None
        return DraftReply(text=template, kind="template", grounded=True, agent=AGENT)

    def _from_passages(self, passages: list[Passage]) -> DraftReply:
        sources = [_source(passage) for passage in passages]
        if not passages or passages[0].score < self.min_score:
            return DraftReply(
                text="I couldn't find this in our help articles; a person from our team will "
                "answer.",
                kind="knowledge",
                sources=sources,
                grounded=False,
                agent=AGENT,
            )
        best = passages[0]
        return DraftReply(
            text=f"{_lead(best.text)}\n\nSource: {best.heading}",
            kind="knowledge",
            sources=sources,
            grounded=True,
            agent=AGENT,
        )


def _lead(text: str) -> str:
    """The passage's opening sentences, up to a chat-sized length; sections open with the answer."""
    sentences = SENTENCE_END.split(" ".join(MARKDOWN_NOISE.sub("", text).split()))
    answer = sentences[0]
    for sentence in sentences[1:]:
        if len(answer) + len(sentence) + 1 > ANSWER_CHARS:
            break
        answer = f"{answer} {sentence}"
    return answer


def _source(passage: Passage) -> Source:
    return Source(
        chunk_id=passage.chunk_id,
        document=passage.source,
        title=passage.title,
        heading=passage.heading,
        score=round(passage.score, 4),
    )

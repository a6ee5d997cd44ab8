"""Search over knowledge-base passages.

`KnowledgeIndex` is the seam for other engines (an external vector database, say). The embedded
default, `HybridIndex`, ranks by a weighted sum of BM25 relevance and MiniLM cosines, each scaled
to 0–1 per question; with no encoder or no stored vectors it is purely lexical. Both are held in
process: the passages and their vectors are read from the store once.

Help articles are mostly written as questions with answers, and MiniLM was trained on question
pairs, so the dense part compares the customer's question with the question each section answers
(its heading) as well as with the section's text. A question of several sentences is also encoded
sentence by sentence, and a passage's text cosine is the mean of its two best sentences: one vector
for a whole email blurs what each part asks (measured on τ²-bench banking, hybrid recall@10 0.354
→ 0.373 at weight 0.5). On the evaluation set's dev questions the right section comes first for
46 % with BM25 alone and 66 % with the mix below (`docs/knowledge.md`).
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import structlog
from sqlalchemy import func, select

from frontdesk.embedding.minilm import english_words
from frontdesk.knowledge.dense import (
    Encoder,
    load_vectors,
    passage_key,
    question_key,
    section_questions,
    stored_asked,
)
from frontdesk.knowledge.lexical import Bm25
from frontdesk.knowledge.terms import content_words, respelled, stems, telling_sentences
from frontdesk.store.repository import Store
from frontdesk.store.tables import KnowledgeChunkRow, KnowledgeDocumentRow, KnowledgeVectorRow

log = structlog.get_logger(__name__)

SENTENCES_ENCODED = 64  # a long message's first sentences: bounds the encoding cost
SENTENCES_AVERAGED = 2
# The dense part's mix of scaled cosines: the whole question against each section's own
# question and against its text, and the question's best sentences against the text.
# With several phrasings per section the question cosine is the surest part (dev top-1 0.709 at
# 0.25, 0.820 at 0.5, 0.812 at 0.7, the rest split 1:2; `docs/knowledge.md`).
QUESTION_WEIGHT, TEXT_WEIGHT, SENTENCES_WEIGHT = 0.5, 1 / 6, 1 / 3


@dataclass(frozen=True)
class Passage:
    chunk_id: str
    source: str
    title: str
    heading: str
    text: str
    score: float  # 0–1, comparable between questions: how well the passage covers the question
    rank_score: float = 0.0  # the fused score the passages were ranked by, for this question
    coverage: float = 0.0  # the IDF-weighted share of the question's words the passage holds
    question_similarity: float | None = None  # cosine with the question its section answers
    text_similarity: float | None = None  # cosine of the question's best sentences with the text
    asked: tuple[str, ...] = ()  # the article's other phrasings of the section's question


class KnowledgeIndex(Protocol):
    def search_many(self, queries: list[str], k: int = 5) -> list[list[Passage]]:
        """The best `k` passages for each query, best first (one call amortises the work)."""
        ...

    def headings(self) -> list[str]:
        """The heading of every indexed passage, each once."""
        ...

    def __len__(self) -> int: ...


class HybridIndex:
    def __init__(
        self, store: Store, encoder: Encoder | None = None, dense_weight: float = 0.3
    ) -> None:
        """`dense_weight` 0 ranks by BM25 alone, 1 by vector cosine alone."""
        self.passages = load_passages(store)
        # The other phrasings of a section's question count as its heading: they hold the
        # words customers use for what the article names in its own.
        self.lexical = Bm25([(" ".join([p.heading, *p.asked]), p.text) for p in self.passages])
        self.stems = self.lexical.words
        total = len(self.passages)
        self.idf = {
            word: math.log((1 + total) / (1 + int(self.lexical.document_frequency[column]))) + 1
            for word, column in self.lexical.vocabulary.items()
        }
        self.unseen_idf = math.log(1 + total) + 1
        # The articles' own words, by how many passages use each: what a misspelt word of a
        # question is mended to before it is searched.
        self.words = Counter(
            word
            for p in self.passages
            for word in set(content_words(" ".join([p.heading, *p.asked, p.text])))
        )
        self.english = english_words()
        self.encoder = encoder if dense_weight > 0 else None
        self.dense_weight = dense_weight if self.encoder is not None else 0.0
        self.dense_rows = np.zeros(0, dtype=np.int64)
        self.matrix = np.zeros((0, 0), dtype=np.float32)
        # Every phrasing of every section's question, and the dense row each belongs to.
        self.questions = np.zeros((0, 0), dtype=np.float32)
        self.question_rows = np.zeros(0, dtype=np.int64)
        if self.encoder is not None:
            keys = [passage_key(p.heading, p.text) for p in self.passages]
            asked = [
                [question_key(q) for q in section_questions(p.heading, p.asked)]
                for p in self.passages
            ]
            vectors = load_vectors(
                store, self.encoder.name, [*keys, *(key for row in asked for key in row)]
            )
            rows = [
                i
                for i, key in enumerate(keys)
                if key in vectors and all(q in vectors for q in asked[i])
            ]
            if rows:
                self.dense_rows = np.asarray(rows)
                self.matrix = np.stack([vectors[keys[i]] for i in rows])
                owners = [(n, q) for n, i in enumerate(rows) for q in asked[i]]
                if owners:
                    self.question_rows = np.array([n for n, _ in owners])
                    self.questions = np.stack([vectors[q] for _, q in owners])
            else:
                self.dense_weight = 0.0

    def __len__(self) -> int:
        return len(self.passages)

    def headings(self) -> list[str]:
        return list(dict.fromkeys(passage.heading for passage in self.passages))

    def search_many(self, queries: list[str], k: int = 5) -> list[list[Passage]]:
        if not self.passages or not queries:
            return [[] for _ in queries]
        # Searched as the customer meant it: "waranty" misses every warranty passage's words,
        # and MiniLM reads it as something else too (the right section 4th instead of 1st).
        queries = [respelled(query, self.words, self.english) for query in queries]
        if self.dense_weight == 0 or self.encoder is None:
            return [self._rank(query, None, k) for query in queries]
        return [
            self._rank(query, cosine, k)
            for query, cosine in zip(queries, self._cosines(self.encoder, queries), strict=True)
        ]

    def _cosines(self, encoder: Encoder, queries: list[str]) -> list[_Cosines]:
        """Per query, each vector-holding passage's cosines: of its section's question and its
        text with the whole query, and the mean of its text's with the query's best sentences."""
        parts = [telling_sentences(query)[:SENTENCES_ENCODED] for query in queries]
        # A one-sentence query is its own sentence: encoded once.
        wholes = [
            i for i, (query, p) in enumerate(zip(queries, parts, strict=True)) if p != [query]
        ]
        vectors = encoder.encode([part for p in parts for part in p] + [queries[i] for i in wholes])
        by_sentence = self.matrix @ vectors.T
        found, start = [], 0
        whole_at = {i: len(by_sentence.T) - len(wholes) + n for n, i in enumerate(wholes)}
        for i, count in enumerate(map(len, parts)):
            block = by_sentence[:, start : start + count]
            whole = vectors[whole_at.get(i, start)]
            start += count
            text = self.matrix @ whole
            # A section's question cosine is its best-matching phrasing's; a section with no
            # question (a topic heading, no other phrasings) has its text's.
            question = np.full(len(text), -np.inf)
            if len(self.question_rows):
                np.maximum.at(question, self.question_rows, self.questions @ whole)
            found.append(
                _Cosines(
                    question=np.where(np.isfinite(question), question, text),
                    text=text,
                    sentences=np.sort(block, axis=1)[:, -SENTENCES_AVERAGED:].mean(axis=1),
                )
            )
        return found

    def _rank(self, query: str, cosine: _Cosines | None, k: int) -> list[Passage]:
        fused = np.zeros(len(self.passages))
        if self.dense_weight < 1:
            lexical = self.lexical.scores(query)
            if lexical.max() > 0:
                fused += (1 - self.dense_weight) * lexical / lexical.max()
        questions = np.zeros(len(self.passages))
        texts = np.zeros(len(self.passages))
        if cosine is not None:
            questions[self.dense_rows] = cosine.question
            texts[self.dense_rows] = cosine.sentences
            dense = (
                QUESTION_WEIGHT * _scaled(cosine.question)
                + TEXT_WEIGHT * _scaled(cosine.text)
                + SENTENCES_WEIGHT * _scaled(cosine.sentences)
            )
            fused[self.dense_rows] += self.dense_weight * dense
        best = [int(i) for i in np.argsort(-fused, kind="stable")[:k] if fused[i] > 0]
        asked = stems(query)
        weights = {word: self.idf.get(word, self.unseen_idf) for word in asked}
        return [
            self._scored(
                i,
                weights,
                float(fused[i]),
                (float(questions[i]), float(texts[i])) if cosine is not None else None,
            )
            for i in best
        ]

    def _scored(
        self,
        position: int,
        weights: dict[str, float],
        fused: float,
        cosines: tuple[float, float] | None,
    ) -> Passage:
        """The IDF-weighted share of the question's words the passage holds, averaged with the
        text cosine when there is one: an absolute measure, unlike the per-question ranking."""
        words = self.stems[position]
        held = sum(weight for word, weight in weights.items() if word in words)
        coverage = held / sum(weights.values()) if weights else 0.0
        score = coverage if cosines is None else (coverage + max(cosines[1], 0.0)) / 2
        passage = self.passages[position]
        return Passage(
            passage.chunk_id,
            passage.source,
            passage.title,
            passage.heading,
            passage.text,
            score,
            rank_score=fused,
            coverage=coverage,
            question_similarity=cosines[0] if cosines else None,
            text_similarity=cosines[1] if cosines else None,
            asked=passage.asked,
        )


@dataclass(frozen=True)
class _Cosines:
    question: np.ndarray
    text: np.ndarray
    sentences: np.ndarray


def _scaled(values: np.ndarray) -> np.ndarray:
    """0–1 over this question's passages (all 0 when they are all alike)."""
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


class RefreshingIndex:
    """A `KnowledgeIndex` that follows the store: when articles are ingested, changed or removed
    (or their vectors arrive), a new index is built in a background thread and replaces the old
    one, so workers answer from today's articles without a restart. Searches keep using the
    previous index until the new one is ready; the store is looked at once per `every_seconds`.
    """

    def __init__(
        self,
        store: Store,
        build: Callable[[], KnowledgeIndex],
        every_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.build = build
        self.every_seconds = every_seconds
        self.clock = clock
        self._seen = knowledge_fingerprint(store)
        self.current = build()
        self._checked = clock()
        self._rebuilding = threading.Lock()

    def __len__(self) -> int:
        return len(self.current)

    def headings(self) -> list[str]:
        return self.current.headings()

    def search_many(self, queries: list[str], k: int = 5) -> list[list[Passage]]:
        self._refresh_if_changed()
        return self.current.search_many(queries, k)

    def _refresh_if_changed(self) -> None:
        now = self.clock()
        if now - self._checked < self.every_seconds or self._rebuilding.locked():
            return
        self._checked = now
        seen = knowledge_fingerprint(self.store)
        if seen != self._seen and self._rebuilding.acquire(blocking=False):
            threading.Thread(
                target=self._rebuild, args=(seen,), name="knowledge-refresh", daemon=True
            ).start()

    def _rebuild(self, seen: tuple) -> None:
        try:
            self.current = self.build()
            self._seen = seen  # changes made while building show up at the next look
            log.info("knowledge index rebuilt", passages=len(self.current))
        except Exception:  # the old index keeps serving; the next look tries again
            log.exception("knowledge index rebuild failed")
        finally:
            self._rebuilding.release()


def knowledge_fingerprint(store: Store) -> tuple:
    """Changes whenever an article is added, replaced or removed, or passage vectors are stored."""
    with store.session() as session:
        documents = session.execute(
            select(func.count(), func.max(KnowledgeDocumentRow.ingested_at))
        ).one()
        chunks = session.scalar(select(func.count()).select_from(KnowledgeChunkRow))
        vectors = session.scalar(select(func.count()).select_from(KnowledgeVectorRow))
    return (*documents, chunks, vectors)


def load_passages(store: Store) -> list[Passage]:
    with store.session() as session:
        rows = session.execute(
            select(KnowledgeChunkRow, KnowledgeDocumentRow)
            .join(KnowledgeDocumentRow, KnowledgeDocumentRow.id == KnowledgeChunkRow.document_id)
            .order_by(KnowledgeDocumentRow.source, KnowledgeChunkRow.ordinal)
        ).all()
        return [
            Passage(
                chunk.id,
                document.source,
                document.title,
                chunk.heading,
                chunk.text,
                0.0,
                asked=stored_asked(chunk.asked),
            )
            for chunk, document in rows
        ]


def passage_texts(store: Store, chunk_ids: Collection[str]) -> dict[str, str]:
    """The stored text of each named passage; one an article re-ingested since has dropped is
    left out."""
    if not chunk_ids:
        return {}
    with store.session() as session:
        found = session.execute(
            select(KnowledgeChunkRow.id, KnowledgeChunkRow.text).where(
                KnowledgeChunkRow.id.in_(list(chunk_ids))
            )
        )
        return {chunk_id: text for chunk_id, text in found}

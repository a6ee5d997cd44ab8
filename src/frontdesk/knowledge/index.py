"""Search over knowledge-base passages.

`KnowledgeIndex` is the seam for other engines (dense, hybrid, an external vector database); the
embedded default is TF-IDF over words and character n-grams, rebuilt in memory from the store.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sqlalchemy import select

from frontdesk.store.repository import Store
from frontdesk.store.tables import KnowledgeChunkRow, KnowledgeDocumentRow


@dataclass(frozen=True)
class Passage:
    chunk_id: str
    source: str
    title: str
    heading: str
    text: str
    score: float


class KnowledgeIndex(Protocol):
    def search_many(self, queries: list[str], k: int = 5) -> list[list[Passage]]:
        """The best `k` passages for each query, best first (one call amortises the work)."""
        ...

    def __len__(self) -> int: ...


class TfidfIndex:
    """Word (1–2) and character (3–5) n-gram TF-IDF; the score is the mean of the two cosines."""

    def __init__(self, passages: list[Passage]) -> None:
        self.passages = passages
        self.vectorizers = [
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english"),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True),
        ]
        documents = [f"{p.heading}\n{p.text}" for p in passages]
        self.matrices = [v.fit_transform(documents) for v in self.vectorizers] if passages else []

    def search_many(self, queries: list[str], k: int = 5) -> list[list[Passage]]:
        if not self.passages or not queries:
            return [[] for _ in queries]
        scores = sum(
            (vectorizer.transform(queries) @ matrix.T).toarray()
            for vectorizer, matrix in zip(self.vectorizers, self.matrices, strict=True)
        ) / len(self.vectorizers)
        results = []
        for row in scores:
            best = np.argsort(row)[::-1][:k]
            results.append(
                [replace(self.passages[i], score=float(row[i])) for i in best if row[i] > 0]
            )
        return results

    def __len__(self) -> int:
        return len(self.passages)


def load_passages(store: Store) -> list[Passage]:
    with store.session() as session:
        rows = session.execute(
            select(KnowledgeChunkRow, KnowledgeDocumentRow)
            .join(KnowledgeDocumentRow, KnowledgeDocumentRow.id == KnowledgeChunkRow.document_id)
            .order_by(KnowledgeDocumentRow.source, KnowledgeChunkRow.ordinal)
        ).all()
        return [
            Passage(chunk.id, document.source, document.title, chunk.heading, chunk.text, 0.0)
            for chunk, document in rows
        ]

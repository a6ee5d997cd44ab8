"""Search over knowledge-base passages.

`KnowledgeIndex` is the seam for other engines (dense, hybrid, an external vector database); the
embedded default is TF-IDF over words and character n-grams, rebuilt in memory from the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
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
    def search(self, query: str, k: int = 5) -> list[Passage]: ...

    def __len__(self) -> int: ...


class TfidfIndex:
    def __init__(self, passages: list[Passage]) -> None:
        self.passages = passages
        self.features = FeatureUnion(
            [
                (
                    "words",
                    TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english"),
                ),
                (
                    "chars",
                    TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True),
                ),
            ]
        )
        documents = [f"{p.heading}\n{p.text}" for p in passages]
        self.matrix = self.features.fit_transform(documents) if passages else None

    def search(self, query: str, k: int = 5) -> list[Passage]:
        if self.matrix is None:
            return []
        # Each of the two blocks is L2-normalised, so halving gives a cosine in [0, 1].
        scores = (self.matrix @ self.features.transform([query]).T).toarray().ravel() / 2
        best = np.argsort(scores)[::-1][:k]
        return [_scored(self.passages[i], float(scores[i])) for i in best if scores[i] > 0]

    def __len__(self) -> int:
        return len(self.passages)


def _scored(passage: Passage, score: float) -> Passage:
    return Passage(
        passage.chunk_id, passage.source, passage.title, passage.heading, passage.text, score
    )


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

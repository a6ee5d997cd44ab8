"""Full-text search in the store itself: SQLite FTS5 (embedded) or PostgreSQL text search.

Both take the question's content words OR-ed together, so a long question still matches
passages that share only some of its words, ranked by the engine's own relevance (BM25 for
FTS5, cover density for PostgreSQL). Scores are returned larger-is-better.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import text

from frontdesk.store.repository import Store

# FTS5's bm25() weights per column: chunk_id (unindexed), heading, text.
FTS5_QUERY = (
    "SELECT chunk_id, -bm25(kb_chunks_fts, 0.0, 2.0, 1.0) FROM kb_chunks_fts "
    "WHERE kb_chunks_fts MATCH ? ORDER BY bm25(kb_chunks_fts, 0.0, 2.0, 1.0) LIMIT ?"
)
POSTGRES_QUERY = text(
    "SELECT id, ts_rank_cd(search_vector, query) FROM kb_chunks, "
    "to_tsquery('english', :query) AS query WHERE search_vector @@ query "
    "ORDER BY 2 DESC LIMIT :limit"
)


class LexicalSearch(Protocol):
    def search(self, terms: list[str], limit: int) -> list[tuple[str, float]]:
        """(chunk id, score) of the best matches for any of `terms`, best first."""
        ...


class SqliteFullText:
    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    def search(self, terms: list[str], limit: int) -> list[tuple[str, float]]:
        if not terms:
            return []
        match = " OR ".join(f'"{term}"' for term in terms)
        # The DB-API connection reads outside SQLAlchemy's BEGIN IMMEDIATE, which is for writers.
        connection = self.engine.raw_connection()
        try:
            rows = connection.cursor().execute(FTS5_QUERY, (match, limit)).fetchall()
        finally:
            connection.close()
        return [(chunk_id, float(score)) for chunk_id, score in rows]


class PostgresFullText:
    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    def search(self, terms: list[str], limit: int) -> list[tuple[str, float]]:
        if not terms:
            return []
        with self.engine.connect() as connection:
            rows = connection.execute(
                POSTGRES_QUERY, {"query": " | ".join(terms), "limit": limit}
            ).all()
        return [(chunk_id, float(score)) for chunk_id, score in rows]


def full_text_search(store: Store) -> LexicalSearch:
    if store.engine.dialect.name == "sqlite":
        return SqliteFullText(store)
    return PostgresFullText(store)

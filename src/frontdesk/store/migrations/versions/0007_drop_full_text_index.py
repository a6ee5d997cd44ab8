"""knowledge search ranks in process (BM25): drop the engines' full-text indexes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A migration is a frozen record, so 0005's statements are restated rather than imported.
SQLITE_UP = [
    "DROP TRIGGER kb_chunks_fts_delete",
    "DROP TRIGGER kb_chunks_fts_insert",
    "DROP TABLE kb_chunks_fts",
]
SQLITE_DOWN = [
    "CREATE VIRTUAL TABLE kb_chunks_fts USING fts5("
    "chunk_id UNINDEXED, heading, text, tokenize = 'porter unicode61 remove_diacritics 2')",
    "INSERT INTO kb_chunks_fts (chunk_id, heading, text) SELECT id, heading, text FROM kb_chunks",
    "CREATE TRIGGER kb_chunks_fts_insert AFTER INSERT ON kb_chunks BEGIN "
    "INSERT INTO kb_chunks_fts (chunk_id, heading, text) VALUES (new.id, new.heading, new.text); "
    "END",
    "CREATE TRIGGER kb_chunks_fts_delete AFTER DELETE ON kb_chunks BEGIN "
    "DELETE FROM kb_chunks_fts WHERE chunk_id = old.id; END",
]
POSTGRES_UP = [
    "DROP INDEX ix_kb_chunks_search_vector",
    "ALTER TABLE kb_chunks DROP COLUMN search_vector",
]
POSTGRES_DOWN = [
    "ALTER TABLE kb_chunks ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english', heading), 'A') || "
    "setweight(to_tsvector('english', text), 'B')) STORED",
    "CREATE INDEX ix_kb_chunks_search_vector ON kb_chunks USING gin (search_vector)",
]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_UP if sqlite else POSTGRES_UP:
        op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_DOWN if sqlite else POSTGRES_DOWN:
        op.execute(statement)

"""knowledge search: full-text index per engine and persisted passage vectors

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Triggers keep the FTS5 table in step with kb_chunks whoever writes it; chunks are only ever
# inserted or deleted (a changed article replaces all its chunks), never updated in place.
SQLITE_UP = [
    "CREATE VIRTUAL TABLE kb_chunks_fts USING fts5("
    "chunk_id UNINDEXED, heading, text, tokenize = 'porter unicode61 remove_diacritics 2')",
    "INSERT INTO kb_chunks_fts (chunk_id, heading, text) SELECT id, heading, text FROM kb_chunks",
    "CREATE TRIGGER kb_chunks_fts_insert AFTER INSERT ON kb_chunks BEGIN "
    "INSERT INTO kb_chunks_fts (chunk_id, heading, text) VALUES (new.id, new.heading, new.text); "
    "END",
    "CREATE TRIGGER kb_chunks_fts_delete AFTER DELETE ON kb_chunks BEGIN "
    "DELETE FROM kb_chunks_fts WHERE chunk_id = old.id; END",
]
SQLITE_DOWN = [
    "DROP TRIGGER kb_chunks_fts_delete",
    "DROP TRIGGER kb_chunks_fts_insert",
    "DROP TABLE kb_chunks_fts",
]
POSTGRES_UP = [
    "ALTER TABLE kb_chunks ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english', heading), 'A') || "
    "setweight(to_tsvector('english', text), 'B')) STORED",
    "CREATE INDEX ix_kb_chunks_search_vector ON kb_chunks USING gin (search_vector)",
]
POSTGRES_DOWN = [
    "DROP INDEX ix_kb_chunks_search_vector",
    "ALTER TABLE kb_chunks DROP COLUMN search_vector",
]


def upgrade() -> None:
    op.create_table(
        "kb_vectors",
        sa.Column("encoder", sa.String(length=100), nullable=False),
        sa.Column("text_sha256", sa.String(length=64), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("encoder", "text_sha256"),
    )
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_UP if dialect == "sqlite" else POSTGRES_UP:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_DOWN if dialect == "sqlite" else POSTGRES_DOWN:
        op.execute(statement)
    op.drop_table("kb_vectors")

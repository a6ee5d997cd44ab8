"""knowledge sections keep the other ways their question is asked

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("kb_chunks", sa.Column("asked", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("kb_chunks") as batch:
        batch.drop_column("asked")

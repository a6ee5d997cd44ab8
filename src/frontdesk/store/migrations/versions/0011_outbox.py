"""outbox: one queue of emails for the email channel (the shop's password-reset links, the
real-time agent's verification codes), each queued once by its idempotency key, with a status

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("idempotency_key", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("conversation_id", sa.String(length=32), nullable=True))
        batch.add_column(
            sa.Column("purpose", sa.String(length=32), server_default="notice", nullable=False)
        )
        batch.add_column(
            sa.Column("status", sa.String(length=16), server_default="pending", nullable=False)
        )
        batch.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch.create_unique_constraint("uq_outbox_idempotency_key", ["idempotency_key"])
        batch.create_foreign_key(
            "fk_outbox_conversation_id", "conversations", ["conversation_id"], ["id"]
        )
        batch.create_index("ix_outbox_conversation_id", ["conversation_id"])
        batch.create_index("ix_outbox_recipient", ["recipient"])
        batch.create_index("ix_outbox_status_created", ["status", "created_at"])
    # Nothing drained the outbox before this revision: what waits in it is stale (a reset link
    # lives 30 minutes), so it is recorded as never sent rather than sent late.
    op.execute("UPDATE outbox SET status = 'sent' WHERE sent_at IS NOT NULL")
    op.execute(
        "UPDATE outbox SET status = 'failed', last_error = 'queued before frontdesk sent email' "
        "WHERE sent_at IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_status_created")
        batch.drop_index("ix_outbox_recipient")
        batch.drop_index("ix_outbox_conversation_id")
        batch.drop_constraint("fk_outbox_conversation_id", type_="foreignkey")
        batch.drop_constraint("uq_outbox_idempotency_key", type_="unique")
        for column in ("last_error", "attempts", "status", "purpose", "conversation_id"):
            batch.drop_column(column)
        batch.drop_column("idempotency_key")

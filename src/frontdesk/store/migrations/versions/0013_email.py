"""email: received mail (messages, automatic mail, bounces, rejected mail with its reason),
their attachments, and the outbox's threading headers and fixed Message-ID

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("message_id_header", sa.String(length=250), nullable=True))
        batch.add_column(sa.Column("in_reply_to", sa.String(length=250), nullable=True))
        batch.add_column(sa.Column("thread_references", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("auto_submitted", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("not_before", sa.DateTime(), nullable=True))
        batch.create_index("ix_outbox_message_id_header", ["message_id_header"])
    op.create_table(
        "email_messages",
        sa.Column("id", sa.String(length=32), primary_key=True),
        sa.Column("key", sa.String(length=250), nullable=False, unique=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(length=32), sa.ForeignKey("messages.id"), nullable=True),
        sa.Column(
            "conversation_id",
            sa.String(length=32),
            sa.ForeignKey("conversations.id"),
            nullable=True,
        ),
        sa.Column("message_id_header", sa.String(length=250), nullable=True),
        sa.Column("in_reply_to", sa.String(length=250), nullable=True),
        sa.Column("thread_references", sa.Text(), nullable=True),
        sa.Column("sender", sa.String(length=254), nullable=True),
        sa.Column("envelope_from", sa.String(length=254), nullable=True),
        sa.Column("mailbox", sa.String(length=254), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
    )
    for column in ("message_id", "conversation_id", "message_id_header", "sender", "received_at"):
        op.create_index(f"ix_email_messages_{column}", "email_messages", [column])
    op.create_table(
        "email_attachments",
        sa.Column("id", sa.String(length=32), primary_key=True),
        sa.Column(
            "email_id", sa.String(length=32), sa.ForeignKey("email_messages.id"), nullable=False
        ),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=127), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
    )
    op.create_index("ix_email_attachments_email_id", "email_attachments", ["email_id"])


def downgrade() -> None:
    op.drop_index("ix_email_attachments_email_id", "email_attachments")
    op.drop_table("email_attachments")
    for column in ("message_id", "conversation_id", "message_id_header", "sender", "received_at"):
        op.drop_index(f"ix_email_messages_{column}", "email_messages")
    op.drop_table("email_messages")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_message_id_header")
        for column in (
            "not_before",
            "auto_submitted",
            "thread_references",
            "in_reply_to",
            "message_id_header",
        ):
            batch.drop_column(column)

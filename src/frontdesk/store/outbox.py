"""The outbox: emails queued by the agents (verification codes now, replies with the email
channel), each once per idempotency key, kept until sent."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from frontdesk.clock import utcnow
from frontdesk.contracts import OutboundEmail
from frontdesk.store.base import StoreBase, new_id
from frontdesk.store.tables import OutboxRow


class OutboxStore(StoreBase):
    def enqueue_email(self, email: OutboundEmail) -> bool:
        """Queue an email; False when one with its idempotency key is queued already."""
        try:
            with self.session() as session:
                if self._queued(session, email.idempotency_key):
                    return False
                session.add(
                    OutboxRow(
                        id=new_id(),
                        channel="email",
                        status="pending",
                        attempts=0,
                        created_at=utcnow(),
                        **email.model_dump(),
                    )
                )
        except IntegrityError:
            with self.session() as session:
                if self._queued(session, email.idempotency_key):
                    return False  # queued by a concurrent delivery of the same message
            raise
        return True

    @staticmethod
    def _queued(session: Session, key: str) -> bool:
        return (
            session.scalar(select(OutboxRow.id).where(OutboxRow.idempotency_key == key)) is not None
        )

    def outbox(self, recipient: str | None = None) -> list[OutboundEmail]:
        """Queued emails, oldest first; only those to `recipient` when given."""
        query = select(OutboxRow).order_by(OutboxRow.created_at, OutboxRow.id)
        if recipient is not None:
            query = query.where(OutboxRow.recipient == recipient)
        with self.session() as session:
            return [
                OutboundEmail.model_validate(row, from_attributes=True)
                for row in session.scalars(query)
            ]

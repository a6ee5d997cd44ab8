"""One-time codes by email (`[realtime] verify = "email_code"`, docs/security.md).

Under τ-retail's policy an email address, or a name and zip code, identifies the customer, and
anyone who knows them can read that customer's orders in the chat. With codes, finding the
account makes the conversation the customer's only once they type back a code sent to the email
address *on the account* (never to an address given in the chat), through the outbox.

The code is derived from the deployment's secret key, the conversation, the message whose turn
sent it and the account, so a redelivered message queues the same email once and expects the
same code; nothing secret is kept in the conversation's memory.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from pydantic import BaseModel

from frontdesk.clock import utcnow
from frontdesk.contracts import OutboundEmail

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=10)


class Outbox(Protocol):
    def enqueue_email(self, email: OutboundEmail) -> bool: ...


class CodeSent(BaseModel):
    """A code on its way to the account's email, awaited in the chat."""

    user_id: str
    sent_to: str  # the address, masked as the customer is shown it
    issued_by: str  # the message whose turn sent it
    expires_at: datetime


@dataclass(frozen=True)
class EmailCodes:
    outbox: Outbox
    key: bytes
    company: str
    lifetime: timedelta = CODE_LIFETIME

    def send(self, conversation_id: str, message_id: str, user_id: str, email: str) -> CodeSent:
        code = self._code(conversation_id, message_id, user_id)
        minutes = int(self.lifetime.total_seconds() // 60)
        self.outbox.enqueue_email(
            OutboundEmail(
                idempotency_key=f"{message_id}:verification_code",
                conversation_id=conversation_id,
                purpose="verification_code",
                recipient=email,
                subject=f"Your {self.company} verification code",
                body=(
                    f"Your verification code is {code}.\n\n"
                    f"Type it in the chat with {self.company} to confirm it is you. It works for "
                    f"{minutes} minutes. If you did not ask for it, ignore this email: nobody "
                    "can see your account without it."
                ),
            )
        )
        return CodeSent(
            user_id=user_id,
            sent_to=masked(email),
            issued_by=message_id,
            expires_at=utcnow() + self.lifetime,
        )

    def matches(self, conversation_id: str, sent: CodeSent, code: str) -> bool:
        expected = self._code(conversation_id, sent.issued_by, sent.user_id)
        return hmac.compare_digest(expected.encode(), code.encode())

    def _code(self, conversation_id: str, message_id: str, user_id: str) -> str:
        subject = f"verification:{conversation_id}:{message_id}:{user_id}".encode()
        digest = hmac.new(self.key, subject, hashlib.sha256).digest()
        return f"{int.from_bytes(digest[:8], 'big') % 10**CODE_DIGITS:0{CODE_DIGITS}d}"


def masked(email: str) -> str:
    """j•••@example.com: enough for the customer to recognise the address, not to learn it."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}"

"""Refusals of the store outside the handoff family (see frontdesk.handoffs.errors)."""

from __future__ import annotations


class UnknownConversation(LookupError):
    pass


class IdempotencyConflict(Exception):
    """An Idempotency-Key was reused for a different message."""


class StaleDialogue(Exception):
    """Another worker moved the conversation on meanwhile; the message must be processed again."""

"""Who may see what: conversation tokens for customers, signed sessions and CSRF for staff."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status

from frontdesk.config import Settings
from frontdesk.store.staff import StaffUser, find_user

TOKEN_HEADER = "X-Conversation-Token"


def secret_key(settings: Settings) -> str:
    """The configured key, or one generated once per data directory (owner-only file)."""
    configured = os.environ.get(settings.server.secret_key_env)
    if configured:
        return configured
    path: Path = settings.data_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def conversation_token(key: str, conversation_id: str) -> str:
    """The customer's key to one conversation; derived, so a retried post gets it again."""
    digest = hmac.new(key.encode(), f"conversation:{conversation_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:40]


def token_matches(key: str, conversation_id: str, token: str | None) -> bool:
    """A header value that is not ASCII (or not a token at all) matches nothing."""
    return _same_secret(conversation_token(key, conversation_id), token)


def _same_secret(expected: str, given: str | None) -> bool:
    """In constant time, as bytes: compare_digest raises TypeError on non-ASCII text, and a
    header or form field can hold any character."""
    if not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))


def may_read_conversation(staff: StaffUser, handoff_tiers: Iterable[str]) -> bool:
    """Staff read a conversation whole (decisions, tool results, handoff packets) when they may
    work every tier it was handed to: an agent never reads one that went to the specialists.
    A conversation the bot answered alone has no tier, and every staff role may read it."""
    return all(staff.may_work(tier) for tier in handoff_tiers)


def current_staff(request: Request) -> StaffUser | None:
    username = request.session.get("staff")
    if not username:
        return None
    return find_user(request.app.state.services.store, username)


def require_staff(request: Request) -> StaffUser:
    staff = current_staff(request)
    if staff is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "sign in as staff first")
    return staff


StaffDep = Annotated[StaffUser, Depends(require_staff)]
MaybeStaffDep = Annotated[StaffUser | None, Depends(current_staff)]
ConversationToken = Annotated[
    str | None,
    Header(
        alias=TOKEN_HEADER,
        description="the conversation_token returned when the conversation was started",
    ),
]


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = request.session.get("csrf")
    if not expected or not _same_secret(expected, submitted):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the form expired; reload the page")

"""Who may see what: conversation tokens for customers; for staff, sessions kept in the store
(the signed cookie carries only the session id), CSRF tokens and an Origin check."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Iterable
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Header, HTTPException, Request, status

from frontdesk.config import ServerSettings
from frontdesk.store.staff import StaffUser
from frontdesk.store.staff_sessions import StaffSessions

TOKEN_HEADER = "X-Conversation-Token"
SESSION_KEY = "sid"  # the one entry of the signed session cookie
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_NOT_LOOKED_UP = object()


def conversation_token(key: str, conversation_id: str) -> str:
    """The customer's key to one conversation; derived, so a retried post gets it again."""
    digest = hmac.new(key.encode(), f"conversation:{conversation_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:40]


def token_matches(key: str, conversation_id: str, token: str | None) -> bool:
    """A header value that is not ASCII (or not a token at all) matches nothing."""
    return same_secret(conversation_token(key, conversation_id), token)


def same_secret(expected: str, given: str | None) -> bool:
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


def cookies_secure(server: ServerSettings) -> bool:
    """`server.secure_cookies`, or when unset: on unless the server listens on loopback only."""
    if server.secure_cookies is not None:
        return server.secure_cookies
    if server.host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(server.host).is_loopback
    except ValueError:  # a host name: reached from elsewhere
        return True


def staff_sessions(request: Request) -> StaffSessions:
    sessions: StaffSessions = request.app.state.staff_sessions
    return sessions


def sign_in(request: Request, staff: StaffUser) -> None:
    """A fresh session: nothing the cookie held before (a planted one) carries over."""
    request.session.clear()
    request.session[SESSION_KEY] = staff_sessions(request).open(staff.username)
    request.state.staff = staff


def sign_out(request: Request) -> None:
    """The session ends in the store, so a copy of the cookie stops working too."""
    session_id = request.session.get(SESSION_KEY)
    if isinstance(session_id, str):
        staff_sessions(request).revoke(session_id)
    request.session.clear()
    request.state.staff = None


def current_staff(request: Request) -> StaffUser | None:
    """The signed-in staff member while the session works (looked up once per request)."""
    known = getattr(request.state, "staff", _NOT_LOOKED_UP)
    if known is not _NOT_LOOKED_UP:
        return known if isinstance(known, StaffUser) else None
    session_id = request.session.get(SESSION_KEY)
    found = staff_sessions(request).user(session_id) if isinstance(session_id, str) else None
    request.state.staff = found
    return found


def still_signed_in(request: Request) -> bool:
    """For a long-lived response (an event stream): the session still works. Not activity."""
    session_id = request.session.get(SESSION_KEY)
    return isinstance(session_id, str) and (
        staff_sessions(request).user(session_id, touch=False) is not None
    )


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
    """The forms' token, derived from the session id (a visitor not signed in gets an id of
    their own for the sign-in form, which is stored nowhere)."""
    session_id = request.session.get(SESSION_KEY)
    if not isinstance(session_id, str):
        session_id = request.session[SESSION_KEY] = secrets.token_urlsafe(32)
    return _csrf_for(request, session_id)


def _csrf_for(request: Request, session_id: str) -> str:
    key: str = request.app.state.secret_key
    digest = hmac.new(key.encode(), f"csrf:{session_id}".encode(), hashlib.sha256)
    return digest.hexdigest()


def check_csrf(request: Request, submitted: str | None) -> None:
    session_id = request.session.get(SESSION_KEY)
    if not isinstance(session_id, str) or not same_secret(
        _csrf_for(request, session_id), submitted
    ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the form expired; reload the page")


def same_origin(request: Request) -> None:
    """A state-changing request whose `Origin` is another site's is refused (403): a page
    elsewhere cannot act with a signed-in person's cookie. Browsers send `Origin` with every
    such request; a client without one (curl, a script) carries no one else's cookie."""
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("origin")
    if origin is None:
        return
    try:
        netloc = urlsplit(origin).netloc.lower()
    except ValueError:  # not a URL at all
        netloc = ""
    if not netloc or netloc != request.headers.get("host", "").lower():
        raise HTTPException(status.HTTP_403_FORBIDDEN, "refused: a request from another site")


SameOrigin = Depends(same_origin)

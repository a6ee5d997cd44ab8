"""The staff inbox: server-rendered pages over the same store the API uses.

Pages answer a missing session with a redirect to the sign-in form; form posts and the event
stream answer it with 401. Every form carries the session's CSRF token.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape

from frontdesk.api.deps import ServicesDep
from frontdesk.api.schemas import ID_PATTERN
from frontdesk.api.security import StaffDep as ApiStaff
from frontdesk.api.security import check_csrf, csrf_token, current_staff
from frontdesk.clock import utcnow
from frontdesk.contracts import Handoff, Outcome
from frontdesk.runtime.services import Services
from frontdesk.store.metrics import service_metrics
from frontdesk.store.repository import (
    AlreadySpecialist,
    ClaimedByOther,
    HandoffClosed,
    UnknownConversation,
    UnknownHandoff,
)
from frontdesk.store.staff import StaffUser, authenticate, find_user, list_users

router = APIRouter(prefix="/inbox", include_in_schema=False)
templates = Jinja2Templates(
    env=Environment(
        loader=PackageLoader("frontdesk.web", "templates"),
        autoescape=select_autoescape(["html"]),
    )
)
HandoffId = Annotated[str, Path(pattern=ID_PATTERN)]
CsrfField = Annotated[str, Form(alias="csrf_token")]
EVENT_POLL_SECONDS = 1.0
# Streams end after a while and the browser reconnects, so a server shutdown never waits long.
EVENT_STREAM_SECONDS = 25.0
OUTCOME_CHOICES: list[tuple[str, str]] = [
    ("", "work it out from the draft"),
    ("sent_as_drafted", "sent as drafted"),
    ("edited", "edited the draft"),
    ("rewritten", "rewrote the answer"),
    ("wrong_intent", "the bot misread the intent"),
]


class SignInRequired(Exception):
    """A page was asked for without a staff session."""


def staff_or_redirect(request: Request) -> StaffUser:
    staff = current_staff(request)
    if staff is None:
        raise SignInRequired
    return staff


PageStaff = Annotated[StaffUser, Depends(staff_or_redirect)]


def sign_in_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(
        f"/inbox/login?next={quote(target, safe='')}", status_code=status.HTTP_303_SEE_OTHER
    )


def _render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    context = {"csrf": csrf_token(request), "staff": current_staff(request), **context}
    return templates.TemplateResponse(request, name, context, status_code=status_code)


ERROR_TITLES = {403: "Not for your role", 404: "Not found"}


def error_page(request: Request, status_code: int, detail: str) -> HTMLResponse:
    title = ERROR_TITLES.get(status_code, "Something went wrong")
    context = {"status_code": status_code, "title": title, "detail": detail}
    return _render(request, "error.html", context, status_code=status_code)


def _safe_next(target: str | None) -> str:
    """Only our own inbox paths: a crafted link must not bounce a signed-in person elsewhere."""
    if target and target.startswith("/inbox") and not target.startswith("/inbox/login"):
        return target
    return "/inbox"


# signing in and out


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return _render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    services: ServicesDep,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
    csrf: CsrfField,
    next: Annotated[str, Form()] = "/inbox",
) -> Response:
    check_csrf(request, csrf)
    staff = authenticate(services.store, username.strip(), password)
    if staff is None:
        return _render(
            request,
            "login.html",
            {"next": _safe_next(next), "error": "Wrong name or password."},
            status_code=status.HTTP_401_UNAUTHORIZED,
        )
    # A fresh session on sign-in: nothing set before it (a planted cookie) carries over.
    request.session.clear()
    request.session["staff"] = staff.username
    return RedirectResponse(_safe_next(next), status_code=status.HTTP_303_SEE_OTHER)


@router.post("/logout")
def logout(request: Request, _staff: ApiStaff, csrf: CsrfField) -> RedirectResponse:
    check_csrf(request, csrf)
    request.session.clear()
    return RedirectResponse("/inbox/login", status_code=status.HTTP_303_SEE_OTHER)


# queues


@dataclass(frozen=True)
class QueueFilters:
    tier: Literal["human", "specialist", "all"] = "all"
    status: Literal["open", "resolved"] = "open"
    owner: Literal["all", "mine", "unclaimed"] = "all"


Filters = Annotated[QueueFilters, Depends()]


def _queue_context(services: Services, staff: StaffUser, filters: QueueFilters) -> dict[str, Any]:
    # One read of the open handoffs gives the counts, and the list too when it shows open ones.
    workable = [h for h in services.store.list_handoffs() if staff.may_work(h.tier)]
    open_counts = {
        name: sum(1 for h in workable if h.tier == name)
        for name in ("human", "specialist")
        if staff.may_work(name)
    }
    handoffs = (
        workable
        if filters.status == "open"
        else [
            h for h in services.store.list_handoffs(status=filters.status) if staff.may_work(h.tier)
        ]
    )
    if filters.tier != "all":
        handoffs = [h for h in handoffs if h.tier == filters.tier]
    if filters.owner == "mine":
        handoffs = [h for h in handoffs if (h.assignee or h.resolved_by) == staff.username]
    elif filters.owner == "unclaimed":
        handoffs = [h for h in handoffs if h.assignee is None]
    if filters.status == "resolved":
        handoffs = handoffs[::-1]  # the latest first
    return {"handoffs": handoffs, "filters": filters, "open_counts": open_counts}


@router.get("", response_class=HTMLResponse)
def queue_page(
    request: Request, services: ServicesDep, staff: PageStaff, filters: Filters
) -> Response:
    return _render(request, "queue.html", _queue_context(services, staff, filters))


@router.get("/queue-rows", response_class=HTMLResponse)
def queue_rows(
    request: Request, services: ServicesDep, staff: ApiStaff, filters: Filters
) -> Response:
    """The open counts and the queue table, swapped in when the event stream says they changed."""
    return _render(request, "queue_live.html", _queue_context(services, staff, filters))


@router.get("/events")
async def events(
    request: Request, services: ServicesDep, staff: ApiStaff, conversation: str | None = None
) -> StreamingResponse:
    """Server-sent events: `queue` when the open handoffs change, `conversation` when the
    named conversation gets a message or reply."""
    if conversation is not None and not _may_see_conversation(services, staff, conversation):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "not a conversation you may work")

    async def stream() -> AsyncIterator[str]:
        yield "retry: 1000\n\n"
        last: dict[str, str] = {}
        deadline = asyncio.get_running_loop().time() + EVENT_STREAM_SECONDS
        while asyncio.get_running_loop().time() < deadline:
            if await request.is_disconnected():
                return
            current = await asyncio.to_thread(_fingerprints, services, staff, conversation)
            for name, value in current.items():
                if last.get(name) != value:
                    yield f"event: {name}\ndata: {json.dumps(value)}\n\n"
            last = current
            await asyncio.sleep(EVENT_POLL_SECONDS)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _fingerprints(services: Services, staff: StaffUser, conversation: str | None) -> dict[str, str]:
    handoffs = [h for h in services.store.list_handoffs() if staff.may_work(h.tier)]
    queue = "|".join(f"{h.id}:{h.assignee}:{h.tier}" for h in handoffs)
    current = {"queue": hashlib.sha256(queue.encode()).hexdigest()[:16]}
    if conversation is not None:
        view = services.store.conversation(conversation)
        current["conversation"] = f"{len(view.messages)}:{len(view.replies)}:{len(view.handoffs)}"
    return current


def _may_see_conversation(services: Services, staff: StaffUser, conversation_id: str) -> bool:
    try:
        view = services.store.conversation(conversation_id)
    except UnknownConversation:
        return False
    return any(staff.may_work(handoff.tier) for handoff in view.handoffs)


# one conversation


def _permitted_handoff(services: Services, staff: StaffUser, handoff_id: str) -> Handoff:
    try:
        handoff = services.store.get_handoff(handoff_id)
    except UnknownHandoff:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown handoff") from None
    if not staff.may_work(handoff.tier):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this conversation is for specialists")
    return handoff


def _intent_labels(services: Services) -> list[str]:
    classifier = services.pipeline.intent_agent.classifier
    return sorted(getattr(classifier, "labels", []))


@router.get("/handoffs/{handoff_id}", response_class=HTMLResponse)
def conversation_page(
    request: Request,
    handoff_id: HandoffId,
    services: ServicesDep,
    staff: PageStaff,
    error: str | None = None,
) -> Response:
    handoff = _permitted_handoff(services, staff, handoff_id)
    view = services.store.conversation(handoff.conversation_id)
    return _render(
        request,
        "conversation.html",
        {
            "handoff": handoff,
            "packet": handoff.packet,
            "conversation": view,
            "thread": services.store.transcript(handoff.conversation_id),
            "outcomes": OUTCOME_CHOICES,
            "intents": _intent_labels(services),
            "held_by_other": handoff.assignee not in (None, staff.username),
            "colleagues": [
                user.username
                for user in list_users(services.store)
                if user.may_work(handoff.tier) and user.username != handoff.assignee
            ],
            "may_assign": handoff.assignee in (None, staff.username) or staff.role == "admin",
            "error": error,
        },
    )


@router.get("/handoffs/{handoff_id}/thread", response_class=HTMLResponse)
def thread_fragment(
    request: Request, handoff_id: HandoffId, services: ServicesDep, staff: ApiStaff
) -> Response:
    handoff = _permitted_handoff(services, staff, handoff_id)
    thread = services.store.transcript(handoff.conversation_id)
    return _render(request, "thread.html", {"thread": thread})


@router.post("/handoffs/{handoff_id}/claim")
def claim(
    request: Request,
    handoff_id: HandoffId,
    services: ServicesDep,
    staff: ApiStaff,
    csrf: CsrfField,
) -> Response:
    check_csrf(request, csrf)
    _permitted_handoff(services, staff, handoff_id)
    with _refusal_page(handoff_id) as refused:
        services.store.claim_handoff(handoff_id, staff.username)
    return refused.response or _to_conversation(handoff_id)


@router.post("/handoffs/{handoff_id}/assign")
def assign(
    request: Request,
    handoff_id: HandoffId,
    services: ServicesDep,
    staff: ApiStaff,
    csrf: CsrfField,
    assignee: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Give the conversation to a colleague, or back to the queue (no assignee). Its holder
    may; an admin may take it from anyone."""
    check_csrf(request, csrf)
    handoff = _permitted_handoff(services, staff, handoff_id)
    colleague = find_user(services.store, assignee) if assignee else None
    if assignee and (colleague is None or not colleague.may_work(handoff.tier)):
        return _to_conversation(handoff_id, f"{assignee} cannot work this conversation.")
    with _refusal_page(handoff_id) as refused:
        services.store.assign_handoff(
            handoff_id, staff.username, assignee or None, override=staff.role == "admin"
        )
    return refused.response or _to_conversation(handoff_id)


@router.post("/handoffs/{handoff_id}/reply")
def reply(
    request: Request,
    handoff_id: HandoffId,
    services: ServicesDep,
    staff: ApiStaff,
    csrf: CsrfField,
    text: Annotated[str, Form(max_length=20_000)],
    outcome: Annotated[str, Form()] = "",
    correct_intent: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    check_csrf(request, csrf)
    _permitted_handoff(services, staff, handoff_id)
    chosen = _outcome(outcome)
    if not text.strip():
        return _to_conversation(handoff_id, "Write an answer before sending.")
    if (chosen == "wrong_intent") != bool(correct_intent.strip()):
        return _to_conversation(
            handoff_id, "Choose the right intent when the bot misread it, and only then."
        )
    if correct_intent and correct_intent not in _intent_labels(services):
        return _to_conversation(handoff_id, f"{correct_intent!r} is not an intent the bot knows.")
    with _refusal_page(handoff_id) as refused:
        services.store.claim_handoff(handoff_id, staff.username)
        services.store.reply_to_handoff(
            handoff_id, staff.username, text.strip(), chosen, correct_intent.strip() or None
        )
    return refused.response or _to_queue()


@router.post("/handoffs/{handoff_id}/hand-back")
def hand_back(
    request: Request,
    handoff_id: HandoffId,
    services: ServicesDep,
    staff: ApiStaff,
    csrf: CsrfField,
) -> Response:
    """The bot's draft was right after all: send it as the bot's answer."""
    check_csrf(request, csrf)
    handoff = _permitted_handoff(services, staff, handoff_id)
    draft = handoff.packet.draft.text if handoff.packet.draft else ""
    if not draft.strip():
        return _to_conversation(handoff_id, "There is no bot draft to hand back; write an answer.")
    with _refusal_page(handoff_id) as refused:
        services.store.claim_handoff(handoff_id, staff.username)
        services.store.reply_to_handoff(handoff_id, staff.username, draft, "handed_back")
    return refused.response or _to_queue()


@router.post("/handoffs/{handoff_id}/escalate")
def escalate(
    request: Request,
    handoff_id: HandoffId,
    services: ServicesDep,
    staff: ApiStaff,
    csrf: CsrfField,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    check_csrf(request, csrf)
    _permitted_handoff(services, staff, handoff_id)
    with _refusal_page(handoff_id) as refused:
        services.store.escalate_handoff(handoff_id, staff.username, note.strip())
    return refused.response or _to_queue()


def _outcome(value: str) -> Outcome | None:
    choices = {key for key, _ in OUTCOME_CHOICES if key}
    if value and value not in choices:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown outcome {value!r}")
    return value or None  # type: ignore[return-value]


class _Refusal:
    response: Response | None = None


@contextmanager
def _refusal_page(handoff_id: str) -> Iterator[_Refusal]:
    """A refused action goes back to the conversation with the reason shown."""
    refusal = _Refusal()
    try:
        yield refusal
    except UnknownHandoff:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown handoff") from None
    except HandoffClosed:
        refusal.response = _to_conversation(handoff_id, "This conversation was already answered.")
    except ClaimedByOther as holder:
        refusal.response = _to_conversation(handoff_id, f"{holder} is working on this one.")
    except AlreadySpecialist:
        refusal.response = _to_conversation(handoff_id, "It is with the specialists already.")


def _to_conversation(handoff_id: str, error: str | None = None) -> RedirectResponse:
    query = f"?error={quote(error)}" if error else ""
    return RedirectResponse(
        f"/inbox/handoffs/{handoff_id}{query}", status_code=status.HTTP_303_SEE_OTHER
    )


def _to_queue() -> RedirectResponse:
    return RedirectResponse("/inbox", status_code=status.HTTP_303_SEE_OTHER)


# overview


@router.get("/overview", response_class=HTMLResponse)
def overview(request: Request, services: ServicesDep, _staff: PageStaff) -> Response:
    now = utcnow()
    zone = ZoneInfo(services.settings.routing.business_hours.timezone)
    midnight = datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    today = service_metrics(services.store, midnight.astimezone(UTC), now)
    week = service_metrics(services.store, now - timedelta(days=7), now)
    return _render(
        request,
        "overview.html",
        {"today": today, "week": week, "zone": str(zone), "open": services.store.list_handoffs()},
    )

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
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape

from frontdesk.analytics import today
from frontdesk.contracts import Handoff, Outcome
from frontdesk.handoffs.errors import HandoffError, NotForYourRole, UnknownHandoff
from frontdesk.http import security
from frontdesk.http.deps import HandoffId, HandoffsDep, ServicesDep
from frontdesk.http.limits import SignInRefused, checked_sign_in, retry_after
from frontdesk.http.security import StaffDep as ApiStaff
from frontdesk.http.security import check_csrf, csrf_token, current_staff
from frontdesk.runtime.services import Services
from frontdesk.store.errors import UnknownConversation
from frontdesk.store.staff import StaffUser, list_users
from frontdesk.web.answers import outcome_for_section, section_answers
from frontdesk.web.mail import received_mail

router = APIRouter(prefix="/inbox", include_in_schema=False)
templates = Jinja2Templates(
    env=Environment(
        loader=PackageLoader("frontdesk.web", "templates"),
        autoescape=select_autoescape(["html"]),
    )
)
CsrfField = Annotated[str, Form(alias="csrf_token")]
EVENT_POLL_SECONDS = 1.0
# Streams end after a while and the browser reconnects, so a server shutdown never waits long.
EVENT_STREAM_SECONDS = 25.0
PERSON_OUTCOMES: list[tuple[Outcome, str]] = [
    ("sent_as_drafted", "sent as drafted"),
    ("edited", "edited the draft"),
    ("rewritten", "rewrote the answer"),
    ("wrong_intent", "the bot misread the intent"),
]
OUTCOME_CHOICES = [("", "work it out from the draft"), *PERSON_OUTCOMES]


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
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
    csrf: CsrfField,
    next: Annotated[str, Form()] = "/inbox",
) -> Response:
    check_csrf(request, csrf)
    try:
        staff = checked_sign_in(request, username.strip(), password)
    except SignInRefused as refused:
        wait = retry_after(refused.wait)
        error = f"Too many failed sign-ins for this name or address: try again in {wait} s."
        page = _render(
            request,
            "login.html",
            {"next": _safe_next(next), "error": error},
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
        )
        page.headers["Retry-After"] = wait
        return page
    if staff is None:
        return _render(
            request,
            "login.html",
            {"next": _safe_next(next), "error": "Wrong name or password."},
            status_code=status.HTTP_401_UNAUTHORIZED,
        )
    security.sign_in(request, staff)  # a fresh session: nothing a planted cookie held carries over
    return RedirectResponse(_safe_next(next), status_code=status.HTTP_303_SEE_OTHER)


@router.post("/logout")
def logout(request: Request, _staff: ApiStaff, csrf: CsrfField) -> RedirectResponse:
    check_csrf(request, csrf)
    security.sign_out(request)
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
    workable = services.handoffs.workable(staff)
    open_counts = {
        name: sum(1 for h in workable if h.tier == name)
        for name in ("human", "specialist")
        if staff.may_work(name)
    }
    handoffs = (
        workable
        if filters.status == "open"
        else services.handoffs.workable(staff, status=filters.status)
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
            if not await asyncio.to_thread(security.still_signed_in, request):
                return  # signed out, disabled or expired meanwhile
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
    handoffs = services.handoffs.workable(staff)
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


@contextmanager
def _error_page_when_not_yours() -> Iterator[None]:
    """A handoff that does not exist, or is not for this role, is an error page (404 / 403);
    other refusals are notices on the conversation (see _refusal_page)."""
    try:
        yield
    except UnknownHandoff:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown handoff") from None
    except NotForYourRole as refusal:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(refusal)) from None


def _permitted_handoff(services: Services, staff: StaffUser, handoff_id: str) -> Handoff:
    with _error_page_when_not_yours():
        return services.handoffs.get(staff, handoff_id)


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
            "intents": sorted(services.intent_labels()),
            "held_by_other": handoff.assignee not in (None, staff.username),
            "colleagues": [
                user.username
                for user in list_users(services.store)
                if user.may_work(handoff.tier) and user.username != handoff.assignee
            ],
            "may_assign": handoff.assignee in (None, staff.username) or staff.role == "admin",
            "answers": section_answers(services.store, handoff.packet.draft),
            "mail": received_mail(services.store, view.id) if view.channel == "email" else [],
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
    handoffs: HandoffsDep,
    staff: ApiStaff,
    csrf: CsrfField,
) -> Response:
    check_csrf(request, csrf)
    with _refusal_page(handoff_id) as refused:
        handoffs.claim(staff, handoff_id)
    return refused.response or _to_conversation(handoff_id)


@router.post("/handoffs/{handoff_id}/assign")
def assign(
    request: Request,
    handoff_id: HandoffId,
    handoffs: HandoffsDep,
    staff: ApiStaff,
    csrf: CsrfField,
    assignee: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Give the conversation to a colleague, or back to the queue (no assignee)."""
    check_csrf(request, csrf)
    with _refusal_page(handoff_id) as refused:
        handoffs.assign(staff, handoff_id, assignee.strip() or None)
    return refused.response or _to_conversation(handoff_id)


@router.post("/handoffs/{handoff_id}/reply")
def reply(
    request: Request,
    handoff_id: HandoffId,
    handoffs: HandoffsDep,
    staff: ApiStaff,
    csrf: CsrfField,
    text: Annotated[str, Form(max_length=20_000)],
    outcome: Annotated[str, Form()] = "",
    correct_intent: Annotated[str, Form(max_length=64)] = "",
    section: Annotated[str, Form(max_length=64)] = "",  # the chunk id "Use this answer" set
) -> Response:
    check_csrf(request, csrf)
    text = text.replace("\r\n", "\n")  # a form sends CRLF; drafts are written with LF
    with _refusal_page(handoff_id) as refused:
        chosen = _outcome(outcome)
        if section:
            draft = handoffs.get(staff, handoff_id).packet.draft
            chosen = outcome_for_section(draft, chosen, section)
        handoffs.reply(staff, handoff_id, text, chosen, correct_intent)
    return refused.response or _to_queue()


@router.post("/handoffs/{handoff_id}/hand-back")
def hand_back(
    request: Request,
    handoff_id: HandoffId,
    handoffs: HandoffsDep,
    staff: ApiStaff,
    csrf: CsrfField,
) -> Response:
    """The bot's draft was right after all: send it as the bot's answer."""
    check_csrf(request, csrf)
    with _refusal_page(handoff_id) as refused:
        handoffs.hand_back(staff, handoff_id)
    return refused.response or _to_queue()


@router.post("/handoffs/{handoff_id}/escalate")
def escalate(
    request: Request,
    handoff_id: HandoffId,
    handoffs: HandoffsDep,
    staff: ApiStaff,
    csrf: CsrfField,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    check_csrf(request, csrf)
    with _refusal_page(handoff_id) as refused:
        handoffs.escalate(staff, handoff_id, note)
    return refused.response or _to_queue()


def _outcome(value: str) -> Outcome | None:
    if not value:
        return None
    for outcome, _label in PERSON_OUTCOMES:
        if value == outcome:
            return outcome
    raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown outcome {value!r}")


class _Refusal:
    response: Response | None = None


@contextmanager
def _refusal_page(handoff_id: str) -> Iterator[_Refusal]:
    """A refused action goes back to the conversation with the reason shown."""
    refusal = _Refusal()
    with _error_page_when_not_yours():
        try:
            yield refusal
        except (UnknownHandoff, NotForYourRole):
            raise
        except HandoffError as refused:
            refusal.response = _to_conversation(handoff_id, f"{refused}.")


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
    figures = today.overview(services.store, services.settings)
    return _render(
        request,
        "overview.html",
        {
            "today": figures.today,
            "week": figures.week,
            "zone": figures.zone,
            "report": figures.report,
            "open": services.store.list_handoffs(),
        },
    )

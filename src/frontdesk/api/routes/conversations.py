from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import Response, StreamingResponse

from frontdesk.api.responses import ANY_REQUEST, INVALID, refusals
from frontdesk.api.schemas import CustomerConversation
from frontdesk.contracts import ConversationView
from frontdesk.http.deps import ID_PATTERN, ServicesDep
from frontdesk.http.security import (
    TOKEN_HEADER,
    ConversationToken,
    MaybeStaffDep,
    may_read_conversation,
    still_signed_in,
    token_matches,
)
from frontdesk.runtime.services import Services
from frontdesk.store.errors import UnknownConversation
from frontdesk.store.staff import StaffUser

router = APIRouter(prefix="/v1", tags=["conversations"])


MAX_WAIT_SECONDS = 30.0
RECHECK_SECONDS = 0.25  # workers in other processes cannot wake this one
# An event stream ends after a while and the browser reconnects: no connection outlives a deploy.
STREAM_SECONDS = 25.0
ConversationId = Annotated[str, Path(pattern=ID_PATTERN)]
READ_REFUSALS = refusals(
    ANY_REQUEST,
    INVALID,
    {
        403: "no token, and not staff who may work the conversation's tiers",
        404: "unknown conversation, or (with `decided`) no such message in it",
    },
)
NOT_YOUR_TIER = "not a conversation your role works"
# One event of the stream (OpenAPI 3.1: the schema of a text/event-stream is each event's).
EVENT = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"enum": ["conversation", "draft"]},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "description": "`conversation`: the view GET answers this reader; `draft`: "
            "`message_id` and the `text` written so far",
        },
        "retry": {"type": "integer", "minimum": 0},
    },
}


@dataclass(frozen=True)
class Reader:
    """Who reads a conversation, which decides what they see of it."""

    staff: StaffUser | None
    holds_token: bool

    def sees(self, view: ConversationView) -> CustomerConversation | ConversationView:
        """The whole conversation for staff who may work every tier it was handed to, else the
        customer's view for the token's holder. Asked of every view handed out, since a
        conversation can go to the specialists while someone waits on it."""
        tiers = (handoff.tier for handoff in view.handoffs)
        if self.staff is not None and may_read_conversation(self.staff, tiers):
            return view
        if self.holds_token:
            return CustomerConversation.of(view)
        raise HTTPException(status.HTTP_403_FORBIDDEN, NOT_YOUR_TIER)


def _reader(
    request: Request, conversation_id: str, staff: StaffUser | None, token: str | None
) -> Reader:
    """Refused before anything is looked up without a token or a staff session, so a stranger
    cannot tell which conversations exist."""
    holds_token = token_matches(request.app.state.secret_key, conversation_id, token)
    if staff is None and not holds_token:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"reading needs the {TOKEN_HEADER}")
    return Reader(staff, holds_token)


@router.get(
    "/conversations/{conversation_id}",
    response_model=CustomerConversation | ConversationView,
    responses=READ_REFUSALS,
)
def get_conversation(
    conversation_id: ConversationId,
    request: Request,
    services: ServicesDep,
    staff: MaybeStaffDep,
    token: ConversationToken = None,
    decided: Annotated[
        str | None,
        Query(pattern=ID_PATTERN, description="wait until this message of it is decided"),
    ] = None,
    wait: Annotated[
        float, Query(ge=0, le=MAX_WAIT_SECONDS, description="seconds to wait at most")
    ] = 0,
) -> CustomerConversation | ConversationView:
    """With the conversation's token, the customer's view: messages, replies with the articles
    they rest on, which messages a person answers, and the status. Signed-in staff who may work
    every tier it was handed to get it whole: decisions, tool calls and results, handoffs.

    With `decided` and `wait`, answers as soon as that message is decided (long poll)."""
    reader = _reader(request, conversation_id, staff, token)
    reader.sees(_conversation(services, conversation_id))  # refused now, not after the wait
    deadline = time.monotonic() + wait
    while True:
        view = _conversation(services, conversation_id)
        remaining = deadline - time.monotonic()
        if decided is None or remaining <= 0 or _has_decision(view, decided):
            return reader.sees(view)
        with services.processed:
            services.processed.wait(min(remaining, RECHECK_SECONDS))


def _conversation(services: Services, conversation_id: str) -> ConversationView:
    try:
        return services.store.conversation(conversation_id)
    except UnknownConversation:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown conversation") from None


def _has_decision(view: ConversationView, message_id: str) -> bool:
    if all(message.id != message_id for message in view.messages):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such message in this conversation")
    return any(decision.message_id == message_id for decision in view.decisions)


@router.get(
    "/conversations/{conversation_id}/events",
    # Not JSON: the document shows the stream's type only (the refusals are JSON still).
    response_class=Response,
    responses={
        200: {
            "description": "the stream of events",
            "content": {"text/event-stream": {"schema": EVENT}},
        },
        **READ_REFUSALS,
    },
)
async def conversation_events(
    conversation_id: ConversationId,
    request: Request,
    services: ServicesDep,
    staff: MaybeStaffDep,
    token: ConversationToken = None,
) -> StreamingResponse:
    """Server-sent events: `conversation` (the view this reader gets from GET) on connect and
    whenever a message, decision, reply or handoff is added; `draft` (`message_id`, `text` so
    far) while the bot is writing an answer that is not stored yet. The stream ends after a
    while; reconnect."""
    reader = _reader(request, conversation_id, staff, token)
    store = services.store
    first = await asyncio.to_thread(_conversation, services, conversation_id)
    shown_first = reader.sees(first)

    async def stream() -> AsyncIterator[str]:
        viewer = reader
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STREAM_SECONDS
        async with services.live.subscribe(conversation_id) as live:
            yield "retry: 1000\n\n" + _event("conversation", shown_first.model_dump_json())
            shown = _shape(first)
            next_live = asyncio.ensure_future(anext(live))
            try:
                while loop.time() < deadline and not await request.is_disconnected():
                    done, _ = await asyncio.wait({next_live}, timeout=RECHECK_SECONDS * 2)
                    if next_live in done:
                        yield _event("draft", json.dumps(next_live.result()))
                        next_live = asyncio.ensure_future(anext(live))
                    view = await asyncio.to_thread(store.conversation, conversation_id)
                    if _shape(view) != shown:
                        shown = _shape(view)
                        if viewer.staff is not None and not await asyncio.to_thread(
                            still_signed_in, request
                        ):  # signed out, disabled or expired meanwhile: at most the token's view
                            viewer = Reader(None, viewer.holds_token)
                        try:
                            seen = viewer.sees(view)
                        except HTTPException:
                            return  # handed to a tier this person does not work
                        yield _event("conversation", seen.model_dump_json())
            finally:
                next_live.cancel()

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _shape(view: ConversationView) -> tuple[int, ...]:
    """What changes when anything is added to a conversation (nothing is ever removed)."""
    resolved = sum(1 for handoff in view.handoffs if handoff.status != "open")
    added = (view.messages, view.decisions, view.replies, view.handoffs)
    return (*(len(items) for items in added), resolved)


def _event(name: str, data: str) -> str:
    return f"event: {name}\ndata: {data}\n\n"

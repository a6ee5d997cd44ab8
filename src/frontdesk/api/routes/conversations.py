from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import StreamingResponse

from frontdesk.contracts import ConversationView
from frontdesk.http.deps import ID_PATTERN, ServicesDep
from frontdesk.http.security import TOKEN_HEADER, ConversationToken, MaybeStaffDep, token_matches
from frontdesk.store.errors import UnknownConversation

router = APIRouter(prefix="/v1", tags=["conversations"])


MAX_WAIT_SECONDS = 30.0
RECHECK_SECONDS = 0.25  # workers in other processes cannot wake this one
# An event stream ends after a while and the browser reconnects: no connection outlives a deploy.
STREAM_SECONDS = 25.0
ConversationId = Annotated[str, Path(pattern=ID_PATTERN)]


@router.get(
    "/conversations/{conversation_id}",
    responses={403: {"description": "no token, not staff"}, 404: {"description": "unknown"}},
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
) -> ConversationView:
    """The conversation with its messages, the decisions taken on them, replies and handoffs.

    With `decided` and `wait`, answers as soon as that message has its decision (long poll).
    Readable with the conversation's token, or by signed-in staff."""
    _may_read(request, conversation_id, staff, token)
    deadline = time.monotonic() + wait
    while True:
        try:
            view = services.store.conversation(conversation_id)
        except UnknownConversation:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown conversation") from None
        remaining = deadline - time.monotonic()
        if decided is None or remaining <= 0 or _has_decision(view, decided):
            return view
        with services.processed:
            services.processed.wait(min(remaining, RECHECK_SECONDS))


def _has_decision(view: ConversationView, message_id: str) -> bool:
    if all(message.id != message_id for message in view.messages):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such message in this conversation")
    return any(decision.message_id == message_id for decision in view.decisions)


@router.get(
    "/conversations/{conversation_id}/events",
    responses={
        200: {"content": {"text/event-stream": {}}},
        403: {"description": "no token, not staff"},
        404: {"description": "unknown"},
    },
)
async def conversation_events(
    conversation_id: ConversationId,
    request: Request,
    services: ServicesDep,
    staff: MaybeStaffDep,
    token: ConversationToken = None,
) -> StreamingResponse:
    """Server-sent events: `conversation` (the whole view) on connect and whenever a message,
    decision, reply or handoff is added; `draft` (`message_id`, `text` so far) while the bot is
    writing an answer that is not stored yet. The stream ends after a while; reconnect."""
    _may_read(request, conversation_id, staff, token)
    store = services.store
    try:
        first = await asyncio.to_thread(store.conversation, conversation_id)
    except UnknownConversation:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown conversation") from None

    async def stream() -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STREAM_SECONDS
        async with services.live.subscribe(conversation_id) as live:
            yield "retry: 1000\n\n" + _event("conversation", first.model_dump_json())
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
                        yield _event("conversation", view.model_dump_json())
            finally:
                next_live.cancel()

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _may_read(request: Request, conversation_id: str, staff: object, token: str | None) -> None:
    if staff is None and not token_matches(request.app.state.secret_key, conversation_id, token):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"reading needs the {TOKEN_HEADER}")


def _shape(view: ConversationView) -> tuple[int, ...]:
    """What changes when anything is added to a conversation (nothing is ever removed)."""
    resolved = sum(1 for handoff in view.handoffs if handoff.status != "open")
    added = (view.messages, view.decisions, view.replies, view.handoffs)
    return (*(len(items) for items in added), resolved)


def _event(name: str, data: str) -> str:
    return f"event: {name}\ndata: {data}\n\n"

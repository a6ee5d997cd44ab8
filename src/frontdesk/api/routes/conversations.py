from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, status

from frontdesk.api.deps import ServicesDep
from frontdesk.api.schemas import ID_PATTERN
from frontdesk.api.security import TOKEN_HEADER, ConversationToken, MaybeStaffDep, token_matches
from frontdesk.contracts import ConversationView
from frontdesk.store.repository import UnknownConversation

router = APIRouter(prefix="/v1", tags=["conversations"])


MAX_WAIT_SECONDS = 30.0
RECHECK_SECONDS = 0.25  # workers in other processes cannot wake this one


@router.get(
    "/conversations/{conversation_id}",
    responses={403: {"description": "no token, not staff"}, 404: {"description": "unknown"}},
)
def get_conversation(
    conversation_id: Annotated[str, Path(pattern=ID_PATTERN)],
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
    if staff is None and not token_matches(request.app.state.secret_key, conversation_id, token):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"reading needs the {TOKEN_HEADER}")
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

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Path, Response, status

from frontdesk.api.deps import ServicesDep
from frontdesk.api.schemas import (
    ID_PATTERN,
    MessageAccepted,
    NewMessage,
    NewMessageInConversation,
)
from frontdesk.store.repository import IdempotencyConflict, UnknownConversation

router = APIRouter(prefix="/v1", tags=["messages"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="a client-chosen key; the same key again returns the first message unchanged",
    ),
]

ACCEPTED = {
    status.HTTP_202_ACCEPTED: {"description": "stored and queued"},
    status.HTTP_404_NOT_FOUND: {"description": "unknown conversation"},
    status.HTTP_409_CONFLICT: {"description": "Idempotency-Key reused for another message"},
}


@router.post(
    "/messages",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MessageAccepted,
    responses=ACCEPTED,
)
def post_message(
    body: NewMessageInConversation,
    services: ServicesDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> MessageAccepted:
    """Accept a customer message: it is stored and queued before this answers."""
    return _accept(services, body, body.conversation_id, idempotency_key, response)


@router.post(
    "/conversations/{conversation_id}/messages",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MessageAccepted,
    responses=ACCEPTED,
)
def post_message_to_conversation(
    conversation_id: Annotated[str, Path(pattern=ID_PATTERN)],
    body: NewMessage,
    services: ServicesDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> MessageAccepted:
    return _accept(services, body, conversation_id, idempotency_key, response)


def _accept(
    services: ServicesDep,
    body: NewMessage,
    conversation_id: str | None,
    idempotency_key: str | None,
    response: Response,
) -> MessageAccepted:
    text = body.text.strip()
    limit = services.settings.server.max_message_chars
    if not text:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "text is empty")
    if len(text) > limit:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"text is {len(text)} characters long; the limit is {limit}",
        )
    try:
        accepted = services.intake.accept(text, body.channel, conversation_id, idempotency_key)
    except UnknownConversation:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown conversation") from None
    except IdempotencyConflict:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "this Idempotency-Key was already used for a different message",
        ) from None
    if not accepted.created:
        response.headers["Idempotent-Replayed"] = "true"
    message = accepted.message
    return MessageAccepted(
        message_id=message.id,
        conversation_id=message.conversation_id,
        status="accepted" if accepted.created else "duplicate",
    )

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Request, Response, status

from frontdesk.api.responses import A_BODY, ANY_REQUEST, INVALID, refusals
from frontdesk.api.schemas import (
    MessageAccepted,
    NewMessage,
    NewMessageInConversation,
)
from frontdesk.http.deps import ID_PATTERN, ServicesDep
from frontdesk.http.limits import client_address, message_rates
from frontdesk.http.security import (
    TOKEN_HEADER,
    ConversationToken,
    conversation_token,
    token_matches,
)
from frontdesk.store.errors import IdempotencyConflict, UnknownConversation

router = APIRouter(prefix="/v1", tags=["messages"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="a client-chosen key, unique within the conversation: the same key and text "
        "again return the first message (409 for the first message of a new conversation, "
        "whose token only the first request gets)",
    ),
]

ACCEPTED: dict[int | str, dict[str, Any]] = {
    status.HTTP_202_ACCEPTED: {"description": "stored and queued"},
    **refusals(
        ANY_REQUEST,
        A_BODY,
        INVALID,
        {
            422: "text empty, only white space, or longer than server.max_message_chars",
            403: "continuing without the conversation token",
            404: "unknown conversation",
            409: "Idempotency-Key reused for another message, or for a new conversation "
            "started already",
            429: "too many messages from this client address or in this conversation in the "
            "last minute",
        },
    ),
}
STARTED_ALREADY = (
    "a conversation was started already with this Idempotency-Key and text, and only the request "
    "that started it gets its token: send the message again with a new Idempotency-Key"
)


@router.post(
    "/messages",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MessageAccepted,
    responses=ACCEPTED,
)
def post_message(
    body: NewMessageInConversation,
    request: Request,
    services: ServicesDep,
    response: Response,
    token: ConversationToken = None,
    idempotency_key: IdempotencyKey = None,
) -> MessageAccepted:
    """Accept a customer message: it is stored and queued before this answers. A new
    conversation comes back with its `conversation_token`; continuing one needs it."""
    return _accept(request, services, body, body.conversation_id, token, idempotency_key, response)


@router.post(
    "/conversations/{conversation_id}/messages",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MessageAccepted,
    responses=ACCEPTED,
)
def post_message_to_conversation(
    conversation_id: Annotated[str, Path(pattern=ID_PATTERN)],
    body: NewMessage,
    request: Request,
    services: ServicesDep,
    response: Response,
    token: ConversationToken = None,
    idempotency_key: IdempotencyKey = None,
) -> MessageAccepted:
    return _accept(request, services, body, conversation_id, token, idempotency_key, response)


def _accept(
    request: Request,
    services: ServicesDep,
    body: NewMessage,
    conversation_id: str | None,
    token: str | None,
    idempotency_key: str | None,
    response: Response,
) -> MessageAccepted:
    rates = message_rates(request)
    rates.admit_address(client_address(request))
    text = body.text.strip()
    limit = services.settings.server.max_message_chars
    if not text:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "text is empty")
    if len(body.text) > limit:  # as sent, white space too: the document's maxLength
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"text is {len(body.text)} characters long; the limit is {limit}",
        )
    key = request.app.state.secret_key
    if conversation_id is not None and not token_matches(key, conversation_id, token):
        if not services.store.has_conversation(conversation_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown conversation")
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"continuing a conversation needs its {TOKEN_HEADER}"
        )
    if conversation_id is not None:
        # Only the token's holder spends the conversation's allowance.
        rates.admit_conversation(conversation_id)
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
        if conversation_id is None:
            # Anyone who knows (or guesses) the key and the text can send them again; handing
            # back the token would hand them the conversation.
            raise HTTPException(status.HTTP_409_CONFLICT, STARTED_ALREADY)
        response.headers["Idempotent-Replayed"] = "true"
    message = accepted.message
    if conversation_id is None:
        rates.started(message.conversation_id)  # its first message counts in it too
    return MessageAccepted(
        message_id=message.id,
        conversation_id=message.conversation_id,
        conversation_token=conversation_token(key, message.conversation_id),
        status="accepted" if accepted.created else "duplicate",
    )

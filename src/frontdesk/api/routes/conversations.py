from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status

from frontdesk.api.deps import ServicesDep
from frontdesk.api.schemas import ID_PATTERN
from frontdesk.contracts import ConversationView
from frontdesk.store.repository import UnknownConversation

router = APIRouter(prefix="/v1", tags=["conversations"])


@router.get("/conversations/{conversation_id}", responses={404: {"description": "unknown"}})
def get_conversation(
    conversation_id: Annotated[str, Path(pattern=ID_PATTERN)], services: ServicesDep
) -> ConversationView:
    """The conversation with its messages, the decisions taken on them, replies and handoffs."""
    try:
        return services.store.conversation(conversation_id)
    except UnknownConversation:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown conversation") from None

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status

from frontdesk.api.deps import ServicesDep
from frontdesk.api.schemas import ID_PATTERN, Escalation, HumanReply
from frontdesk.contracts import Handoff, OutboundReply
from frontdesk.store.repository import AlreadySpecialist, HandoffClosed, UnknownHandoff

router = APIRouter(prefix="/v1", tags=["handoffs"])


@router.get("/handoffs")
def list_handoffs(
    services: ServicesDep,
    tier: Literal["human", "specialist"] | None = None,
    handoff_status: Annotated[Literal["open", "resolved"], Query(alias="status")] = "open",
) -> list[Handoff]:
    """Handed-off messages, oldest first, optionally of one tier."""
    return services.store.list_handoffs(tier=tier, status=handoff_status)


@router.post(
    "/handoffs/{handoff_id}/reply",
    status_code=status.HTTP_201_CREATED,
    responses={404: {"description": "unknown handoff"}, 409: {"description": "already answered"}},
)
def reply_to_handoff(
    handoff_id: Annotated[str, Path(pattern=ID_PATTERN)], body: HumanReply, services: ServicesDep
) -> OutboundReply:
    """A person answers the customer; the handoff is resolved."""
    try:
        return services.store.reply_to_handoff(
            handoff_id, body.agent, body.text.strip(), body.outcome, body.correct_intent
        )
    except UnknownHandoff:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown handoff") from None
    except HandoffClosed:
        raise HTTPException(status.HTTP_409_CONFLICT, "this handoff was already answered") from None


@router.post(
    "/handoffs/{handoff_id}/escalate",
    responses={404: {"description": "unknown handoff"}, 409: {"description": "closed or done"}},
)
def escalate_handoff(
    handoff_id: Annotated[str, Path(pattern=ID_PATTERN)], body: Escalation, services: ServicesDep
) -> Handoff:
    """Pass an open handoff on to the senior specialists."""
    try:
        return services.store.escalate_handoff(handoff_id, body.agent, body.note)
    except UnknownHandoff:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown handoff") from None
    except HandoffClosed:
        raise HTTPException(status.HTTP_409_CONFLICT, "this handoff was already answered") from None
    except AlreadySpecialist:
        raise HTTPException(status.HTTP_409_CONFLICT, "already with the specialists") from None

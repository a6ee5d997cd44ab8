"""Handoffs for signed-in staff: agents work the human tier, specialists and admins both."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status

from frontdesk.api.deps import ServicesDep
from frontdesk.api.schemas import ID_PATTERN, Escalation, HumanReply
from frontdesk.api.security import StaffDep
from frontdesk.contracts import Handoff, OutboundReply
from frontdesk.store.repository import (
    AlreadySpecialist,
    ClaimedByOther,
    HandoffClosed,
    UnknownHandoff,
)
from frontdesk.store.staff import StaffUser

router = APIRouter(prefix="/v1", tags=["handoffs"])
HandoffId = Annotated[str, Path(pattern=ID_PATTERN)]
REFUSALS = {
    403: {"description": "not for this role"},
    404: {"description": "unknown handoff"},
    409: {"description": "answered already, or someone else holds it"},
}


@router.get("/handoffs")
def list_handoffs(
    services: ServicesDep,
    staff: StaffDep,
    tier: Literal["human", "specialist"] | None = None,
    handoff_status: Annotated[Literal["open", "resolved"], Query(alias="status")] = "open",
) -> list[Handoff]:
    """Handed-off messages this person may work, oldest first, optionally of one tier."""
    handoffs = services.store.list_handoffs(tier=tier, status=handoff_status)
    return [handoff for handoff in handoffs if staff.may_work(handoff.tier)]


@router.post("/handoffs/{handoff_id}/claim", responses=REFUSALS)
def claim_handoff(handoff_id: HandoffId, services: ServicesDep, staff: StaffDep) -> Handoff:
    """Take a handoff; two people never work one conversation."""
    _permitted(services, staff, handoff_id)
    with _refusals():
        return services.store.claim_handoff(handoff_id, staff.username)


@router.post(
    "/handoffs/{handoff_id}/reply", status_code=status.HTTP_201_CREATED, responses=REFUSALS
)
def reply_to_handoff(
    handoff_id: HandoffId, body: HumanReply, services: ServicesDep, staff: StaffDep
) -> OutboundReply:
    """A person answers the customer; the handoff is resolved with its outcome."""
    _permitted(services, staff, handoff_id)
    with _refusals():
        return services.store.reply_to_handoff(
            handoff_id, staff.username, body.text.strip(), body.outcome, body.correct_intent
        )


@router.post("/handoffs/{handoff_id}/escalate", responses=REFUSALS)
def escalate_handoff(
    handoff_id: HandoffId, body: Escalation, services: ServicesDep, staff: StaffDep
) -> Handoff:
    """Pass an open handoff on to the senior specialists."""
    _permitted(services, staff, handoff_id)
    with _refusals():
        return services.store.escalate_handoff(handoff_id, staff.username, body.note)


def _permitted(services: ServicesDep, staff: StaffUser, handoff_id: str) -> None:
    with _refusals():
        handoff = services.store.get_handoff(handoff_id)
    if not staff.may_work(handoff.tier):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "specialist handoffs are for specialists")


@contextmanager
def _refusals() -> Iterator[None]:
    """Domain refusals as HTTP answers, in one place."""
    try:
        yield
    except UnknownHandoff:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown handoff") from None
    except HandoffClosed:
        raise HTTPException(status.HTTP_409_CONFLICT, "this handoff was already answered") from None
    except ClaimedByOther as error:
        raise HTTPException(status.HTTP_409_CONFLICT, f"{error} is working on it") from None
    except AlreadySpecialist:
        raise HTTPException(status.HTTP_409_CONFLICT, "already with the specialists") from None

"""Handoffs for signed-in staff: agents work the human tier, specialists and admins both.
The rules are the handoff service's; this module only translates its refusals."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status

from frontdesk.api.responses import (
    A_BODY,
    ANY_REQUEST,
    INVALID,
    SAME_SITE,
    STAFF_ONLY,
    refusals,
)
from frontdesk.api.schemas import Escalation, HumanReply
from frontdesk.contracts import Handoff, OutboundReply
from frontdesk.handoffs.errors import (
    HandoffError,
    InvalidHandoffAction,
    NotForYourRole,
    UnknownHandoff,
)
from frontdesk.http.deps import HandoffId, HandoffsDep
from frontdesk.http.security import SameOrigin, StaffDep

# Every state-changing route here is staff's: a post from another site's page is refused.
router = APIRouter(prefix="/v1", tags=["handoffs"], dependencies=[SameOrigin])
# What the handoff service refuses, for every action on one handoff.
ACTION = {
    403: "not for this role",
    404: "unknown handoff",
    409: "answered already, someone else holds it, or with the specialists already",
}
REFUSALS = refusals(ANY_REQUEST, A_BODY, INVALID, STAFF_ONLY, SAME_SITE, ACTION)
REPLY_REFUSALS = refusals(
    ANY_REQUEST,
    A_BODY,
    INVALID,
    STAFF_ONLY,
    SAME_SITE,
    ACTION,
    {422: "a blank answer, or the corrected intent missing, unasked for or unknown"},
)


@router.get("/handoffs", responses=refusals(ANY_REQUEST, INVALID, STAFF_ONLY))
def list_handoffs(
    handoffs: HandoffsDep,
    staff: StaffDep,
    tier: Literal["human", "specialist"] | None = None,
    handoff_status: Annotated[Literal["open", "resolved"], Query(alias="status")] = "open",
) -> list[Handoff]:
    """Handed-off messages this person may work, oldest first, optionally of one tier."""
    return handoffs.workable(staff, tier=tier, status=handoff_status)


@router.post("/handoffs/{handoff_id}/claim", responses=REFUSALS)
def claim_handoff(handoff_id: HandoffId, handoffs: HandoffsDep, staff: StaffDep) -> Handoff:
    """Take a handoff; two people never work one conversation."""
    with _refusals():
        return handoffs.claim(staff, handoff_id)


@router.post(
    "/handoffs/{handoff_id}/reply", status_code=status.HTTP_201_CREATED, responses=REPLY_REFUSALS
)
def reply_to_handoff(
    handoff_id: HandoffId, body: HumanReply, handoffs: HandoffsDep, staff: StaffDep
) -> OutboundReply:
    """A person answers the customer; the handoff is resolved with its outcome."""
    with _refusals():
        return handoffs.reply(staff, handoff_id, body.text, body.outcome, body.correct_intent)


@router.post("/handoffs/{handoff_id}/escalate", responses=REFUSALS)
def escalate_handoff(
    handoff_id: HandoffId, body: Escalation, handoffs: HandoffsDep, staff: StaffDep
) -> Handoff:
    """Pass an open handoff on to the senior specialists."""
    with _refusals():
        return handoffs.escalate(staff, handoff_id, body.note)


@contextmanager
def _refusals() -> Iterator[None]:
    """The handoff service's refusals as HTTP answers, in one place."""
    try:
        yield
    except UnknownHandoff as refusal:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(refusal)) from None
    except NotForYourRole as refusal:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(refusal)) from None
    except InvalidHandoffAction as refusal:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(refusal)) from None
    except HandoffError as refusal:  # closed, held by someone else, with the specialists
        raise HTTPException(status.HTTP_409_CONFLICT, str(refusal)) from None

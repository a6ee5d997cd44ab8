from __future__ import annotations

import structlog
from fastapi import APIRouter, HTTPException, Request, status

from frontdesk.api.responses import (
    A_BODY,
    ANY_REQUEST,
    INVALID,
    SAME_SITE,
    STAFF_ONLY,
    refusals,
)
from frontdesk.api.schemas import SignIn, StaffPublic, Unlock, Unlocked
from frontdesk.http.deps import ServicesDep
from frontdesk.http.limits import SignInRefused, checked_sign_in, sign_in_limits
from frontdesk.http.security import SameOrigin, StaffDep, sign_in, sign_out

router = APIRouter(prefix="/v1/auth", tags=["staff sign-in"], dependencies=[SameOrigin])
log = structlog.get_logger(__name__)


@router.post(
    "/login",
    responses=refusals(
        ANY_REQUEST,
        A_BODY,
        INVALID,
        SAME_SITE,
        {
            401: "wrong name or password",
            429: "too many failed sign-ins for this account or from this address (the password "
            "was not checked)",
        },
    ),
)
def login(body: SignIn, request: Request) -> StaffPublic:
    """Sign a staff member in: the session cookie then authorises the staff endpoints."""
    try:
        staff = checked_sign_in(request, body.username, body.password)
    except SignInRefused as refused:
        raise refused.as_http() from None
    if staff is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong name or password")
    sign_in(request, staff)
    return StaffPublic(username=staff.username, role=staff.role)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=refusals(ANY_REQUEST, A_BODY, SAME_SITE),
)
def logout(request: Request) -> None:
    """End the session: its cookie stops working, wherever a copy of it is."""
    sign_out(request)


@router.get("/me", responses=refusals(ANY_REQUEST, STAFF_ONLY))
def me(staff: StaffDep) -> StaffPublic:
    return StaffPublic(username=staff.username, role=staff.role)


@router.post(
    "/unlock",
    responses=refusals(
        ANY_REQUEST,
        A_BODY,
        INVALID,
        STAFF_ONLY,
        SAME_SITE,
        {403: "only admins unlock", 422: "neither a username nor an address"},
    ),
)
def unlock(body: Unlock, staff: StaffDep, services: ServicesDep) -> Unlocked:
    """Forget the failed sign-ins of an account, of a client address, or both (admins only)."""
    if staff.role != "admin":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only admins unlock sign-ins")
    if body.username is None and body.address is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "name a username or an address")
    actor = f"staff:{staff.username}"
    forgotten = sign_in_limits(services).unlock(actor, body.username, body.address)
    log.info("auth.unlocked", actor=actor, forgotten=forgotten)
    return Unlocked(forgotten=forgotten)

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status

from frontdesk.api.schemas import SignIn, StaffPublic
from frontdesk.http.deps import ServicesDep
from frontdesk.http.security import StaffDep
from frontdesk.store.staff import authenticate

router = APIRouter(prefix="/v1/auth", tags=["staff sign-in"])


@router.post("/login", responses={401: {"description": "wrong name or password"}})
def login(body: SignIn, request: Request, services: ServicesDep) -> StaffPublic:
    """Sign a staff member in: the session cookie then authorises the staff endpoints."""
    staff = authenticate(services.store, body.username, body.password)
    if staff is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong name or password")
    request.session.clear()
    request.session["staff"] = staff.username
    return StaffPublic(username=staff.username, role=staff.role)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request) -> None:
    request.session.clear()


@router.get("/me")
def me(staff: StaffDep) -> StaffPublic:
    return StaffPublic(username=staff.username, role=staff.role)

"""The inbox page of mail that joined no conversation and got no answer: rejected (oversized or
unreadable, kept whole with the reason), automatic (auto-replies, lists, noreply senders) and
bounces, newest first, so staff see what arrived and why nothing answered it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from frontdesk.http.deps import ServicesDep
from frontdesk.store.tables import EmailMessageRow
from frontdesk.web.inbox import PageStaff, _render

router = APIRouter(prefix="/inbox", include_in_schema=False)
UNANSWERED = ("rejected", "automatic", "bounce")
PAGE = 200


@router.get("/mail", response_class=HTMLResponse)
def unanswered_mail(
    request: Request,
    services: ServicesDep,
    _staff: PageStaff,
    kind: Annotated[str | None, Query(pattern="^(rejected|automatic|bounce)$")] = None,
) -> HTMLResponse:
    kinds = (kind,) if kind else UNANSWERED
    with services.store.session() as session:
        mails = session.scalars(
            select(EmailMessageRow)
            .where(EmailMessageRow.kind.in_(kinds))
            .order_by(EmailMessageRow.received_at.desc(), EmailMessageRow.id)
            .limit(PAGE)
        ).all()
    return _render(request, "mail.html", {"mails": mails, "kind": kind, "page": PAGE})

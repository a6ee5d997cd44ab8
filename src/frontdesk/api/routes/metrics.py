from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from frontdesk.clock import utcnow
from frontdesk.contracts import ServiceMetrics
from frontdesk.http.deps import ServicesDep
from frontdesk.http.security import StaffDep
from frontdesk.store.metrics import service_metrics

router = APIRouter(prefix="/v1", tags=["metrics"])


@router.get("/metrics")
def get_metrics(
    services: ServicesDep,
    _staff: StaffDep,
    since: Annotated[datetime | None, Query(description="ISO time; default 24 h ago")] = None,
    until: Annotated[datetime | None, Query(description="ISO time; default now")] = None,
) -> ServiceMetrics:
    """Tier shares, automatic resolution, handoffs, handle time and reopen rate in a window."""
    until = until or utcnow()
    since = since or until - timedelta(hours=24)
    if since.tzinfo is None or until.tzinfo is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "give times with a zone")
    if since >= until:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "since must be before until")
    return service_metrics(services.store, since, until)

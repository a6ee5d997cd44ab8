from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import AwareDatetime, BeforeValidator

from frontdesk.api.responses import ANY_REQUEST, INVALID, STAFF_ONLY, refusals
from frontdesk.clock import utcnow
from frontdesk.contracts import ServiceMetrics
from frontdesk.http.deps import ServicesDep
from frontdesk.http.security import StaffDep
from frontdesk.store.metrics import service_metrics

router = APIRouter(prefix="/v1", tags=["metrics"])

# The document's `format: date-time` (RFC 3339), not whatever else a datetime parser takes (such
# as a bare number of seconds since 1970).
RFC_3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)
WINDOW = timedelta(hours=24)


def _rfc_3339(value: Any) -> Any:
    if isinstance(value, str) and not RFC_3339.fullmatch(value):
        raise ValueError("give an RFC 3339 time with its zone, such as 2026-01-31T09:00:00Z")
    return value


Time = Annotated[AwareDatetime, BeforeValidator(_rfc_3339)]


def _in_utc(moment: datetime) -> datetime:
    """In UTC; a time whose UTC is before the first or after the last moment Python holds
    (year 1 or 9999 in a far zone) counts as that moment."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return EARLIEST if moment.year == 1 else LATEST


@router.get(
    "/metrics",
    responses=refusals(ANY_REQUEST, INVALID, STAFF_ONLY, {422: "since not before until"}),
)
def get_metrics(
    services: ServicesDep,
    _staff: StaffDep,
    since: Annotated[
        Time | None, Query(description="RFC 3339 time; default 24 h before until")
    ] = None,
    until: Annotated[Time | None, Query(description="RFC 3339 time; default now")] = None,
) -> ServiceMetrics:
    """Tier shares, automatic resolution, handoffs, handle time and reopen rate in a window."""
    until = _in_utc(until) if until else utcnow()
    since = _in_utc(since) if since else max(EARLIEST + WINDOW, until) - WINDOW
    if since >= until:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "since must be before until")
    return service_metrics(services.store, since, until)

"""GET /metrics: the Prometheus text exposition, for a scraper holding the metrics token
(docs/observability.md). The staff's JSON summary stays at GET /v1/metrics."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status

from frontdesk.http.deps import ServicesDep
from frontdesk.observability.exposition import (
    metrics_token,
    readings_of,
    render,
    scrape_registry,
    token_accepted,
)

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics(request: Request, services: ServicesDep) -> Response:
    token = metrics_token(services.settings)
    if token is None:  # off until an operator gives scrapers a token
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
    if not token_accepted(token, request.headers.get("Authorization")):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "send the metrics token as a Bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    registry = scrape_registry(readings_of(services.settings, services.queue, services.store))
    body, content_type = render(registry)
    return Response(body, headers={"Content-Type": content_type})

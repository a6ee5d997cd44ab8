from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from frontdesk.api.responses import ANY_REQUEST, refusals
from frontdesk.api.schemas import Readiness
from frontdesk.http.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/healthz", responses=refusals(ANY_REQUEST))
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={
        **refusals(ANY_REQUEST),
        503: {"model": Readiness, "description": "a check fails (`checks` says which)"},
    },
)
def ready(request: Request, services: ServicesDep, response: Response) -> Readiness:
    """Store and queue answer, and the in-process worker (when enabled) is running."""
    checks = {}
    for name, probe in (("store", services.store.ping), ("queue", services.queue.ping)):
        try:
            probe()
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"failing: {type(exc).__name__}: {exc}"
    thread = request.app.state.worker_thread
    if services.settings.worker.enabled:
        checks["worker"] = "ok" if thread is not None and thread.is_alive() else "not running"
    ok = all(value == "ok" for value in checks.values())
    if not ok:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Readiness(ready=ok, checks=checks)

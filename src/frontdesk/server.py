"""The FastAPI application: the HTTP API (`api/`), the inbox and chat pages (`web/`) and, by
default, the in-process worker. The only module that knows both edges."""

from __future__ import annotations

import html
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from importlib import resources

from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from frontdesk.api.openapi import document_configured_limits
from frontdesk.api.routes import (
    auth,
    conversations,
    handoffs,
    health,
    messages,
    metrics,
    prometheus,
    ratings,
)
from frontdesk.channels.email.channel import start_email
from frontdesk.config import Settings, get_settings
from frontdesk.http.guards import (
    LimitBodySize,
    LogServerErrors,
    RefuseNulCharacters,
    RequireJsonBodies,
)
from frontdesk.http.headers import SecurityHeaders, chat_policy
from frontdesk.http.security import cookies_secure
from frontdesk.keys import secret_key
from frontdesk.observability.exposition import open_metrics_listener
from frontdesk.runtime.services import build_services
from frontdesk.store.staff_sessions import SessionPolicy, StaffSessions
from frontdesk.web import inbox, unanswered_mail


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    session_policy = SessionPolicy(
        lifetime=timedelta(hours=settings.server.session_hours),
        idle=timedelta(minutes=settings.server.session_idle_minutes),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = build_services(settings)
        app.state.services = services
        app.state.staff_sessions = StaffSessions(services.store, session_policy)
        app.state.worker_thread = None
        worker = services.worker() if settings.worker.enabled else None
        if worker is not None:
            app.state.worker_thread = threading.Thread(
                target=worker.run, name="frontdesk-worker", daemon=True
            )
            app.state.worker_thread.start()
        listener = open_metrics_listener(settings, services.queue, services.store)
        email = start_email(services, receive=True)
        try:
            yield
        finally:
            email.close()
            if listener is not None:
                listener.close()
            if worker is not None:
                worker.stopping.set()
                app.state.worker_thread.join(timeout=10)
            services.close()

    app = FastAPI(
        title="frontdesk",
        summary="Customer service by cooperating agents, with people for what needs a person.",
        version="0.1.0",
        lifespan=lifespan,
    )
    document_configured_limits(app, settings)
    app.state.secret_key = secret_key(settings)
    app.add_middleware(RequireJsonBodies)
    app.add_middleware(
        SessionMiddleware,
        secret_key=app.state.secret_key,
        session_cookie="frontdesk_session",
        max_age=int(settings.server.session_hours * 3600),
        same_site="lax",
        https_only=cookies_secure(settings.server),
    )
    app.add_middleware(RefuseNulCharacters)
    app.add_middleware(LogServerErrors)  # sees every failure of what it wraps
    app.add_middleware(LimitBodySize, limit=settings.server.max_body_bytes)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(inbox.SignInRequired, _sign_in_first)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    routers = (
        messages,
        conversations,
        ratings,
        handoffs,
        metrics,
        prometheus,
        auth,
        health,
        inbox,
        unanswered_mail,
    )
    for module in routers:
        app.include_router(module.router)
    app.mount(
        "/inbox/static",
        StaticFiles(packages=[("frontdesk.web", "static")]),
        name="inbox-static",
    )
    widget = resources.files("frontdesk.web").joinpath("widget.js").read_text("utf-8")
    page = resources.files("frontdesk.web").joinpath("chat.html").read_text("utf-8")
    page = page.replace("{{company}}", html.escape(settings.company_name)).replace(
        "{{max_chars}}", str(settings.server.max_message_chars)
    )
    # Outermost: every answer gets the headers, the guards' refusals too.
    app.add_middleware(
        SecurityHeaders, chat_policy=chat_policy(page, settings.server.widget_origins)
    )

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def chat_page() -> str:
        return page

    @app.get("/widget.js", include_in_schema=False)
    def widget_script() -> Response:
        """The embeddable chat: one script tag on any page of the company's site."""
        return Response(
            widget,
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=300"},
        )

    return app


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return JSONResponse(
            {"detail": "the body is not valid JSON"}, status_code=status.HTTP_400_BAD_REQUEST
        )
    detail = [
        {"field": ".".join(str(part) for part in error["loc"]), "reason": error["msg"]}
        for error in errors
    ]
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def _sign_in_first(request: Request, exc: Exception) -> Response:
    return inbox.sign_in_redirect(request)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Inbox pages answer people with a page; everything else keeps FastAPI's JSON."""
    assert isinstance(exc, StarletteHTTPException)
    if (
        request.url.path.startswith("/inbox")
        and request.method == "GET"
        and ("text/html" in request.headers.get("accept", ""))
    ):
        return inbox.error_page(request, exc.status_code, str(exc.detail))
    return await http_exception_handler(request, exc)

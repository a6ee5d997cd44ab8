"""ASGI guards around the whole app: hostile input gets a 4xx with a reason, and a failure of ours
is a logged 500, never a traceback printed by the server.

JSON bodies are checked field by field in `frontdesk.api.schemas.Body`; these guards cover what
no schema sees. (FastAPI's own `max_body_size` answers a declared oversize body with plain text
whatever the handlers say; `LimitBodySize` keeps every refusal JSON with a `detail`.)
"""

from __future__ import annotations

import traceback

import structlog
from fastapi import status
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FORM = b"application/x-www-form-urlencoded"
JSON_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
NUL_REASON = "the request contains a NUL character (U+0000), which is not accepted"


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"the body is larger than {limit} bytes (server.max_body_bytes)",
        )


class LimitBodySize:
    """A body over `limit` bytes is refused with 413: at once when its Content-Length says so,
    else as soon as the bytes received pass the limit, before anything has parsed it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await _refuse(BodyTooLarge(self.limit), scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)  # the route's handlers answer it, or we do
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge as refusal:
            if started:
                raise
            await _refuse(refusal, scope, receive, send)


async def _refuse(refusal: HTTPException, scope: Scope, receive: Receive, send: Send) -> None:
    answer = JSONResponse({"detail": refusal.detail}, status_code=refusal.status_code)
    await answer(scope, receive, send)


class RefuseNulCharacters:
    """A NUL in the path, the query or a form body is refused with 400: PostgreSQL cannot store
    one, and no customer or staff member types one. (A JSON body's fields are checked by their
    schema, which names the field.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
            await _refuse_nul(scope, receive, send)
            return
        content_type = dict(scope["headers"]).get(b"content-type", b"")
        if content_type.split(b";")[0].strip().lower() != FORM:
            await self.app(scope, receive, send)
            return
        body = await _whole_body(receive)  # bounded by LimitBodySize outside
        if b"%00" in body or b"\x00" in body:
            await _refuse_nul(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


async def _whole_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read already, then whatever the client does next (such as disconnect)."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _refuse_nul(scope: Scope, receive: Receive, send: Send) -> None:
    await _refuse(HTTPException(status.HTTP_400_BAD_REQUEST, NUL_REASON), scope, receive, send)


class RequireJsonBodies:
    """A body sent to the API (`/v1/…`) is JSON, or it is refused with 415 before the route sees
    it. A request without a body (a sign-out, a claim) needs no type, and a method its path does
    not take is the router's to answer (405 with `Allow`), whatever it carries."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in JSON_BODY_METHODS
            and scope["path"].startswith("/v1/")
        ):
            headers = dict(scope["headers"])
            content_type = headers.get(b"content-type", b"").decode("latin-1")
            media_type = content_type.split(";")[0].strip().lower()
            if media_type != "application/json" and _has_body(headers) and _routed(scope):
                refusal = JSONResponse(
                    {"detail": f"send the body as application/json, not {media_type or 'nothing'}"},
                    status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                )
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _has_body(headers: dict[bytes, bytes]) -> bool:
    """HTTP/1.1: a request has a body when it says how long (not 0) or that it is chunked."""
    return headers.get(b"content-length", b"0").strip() not in {b"0", b""} or (
        b"transfer-encoding" in headers
    )


def _routed(scope: Scope) -> bool:
    """A route of the app takes this method on this path."""
    app = scope.get("app")
    router = getattr(app, "router", None)
    if router is None:
        return True
    return any(route.matches(scope)[0] is Match.FULL for route in router.routes)


class LogServerErrors:
    """Every 5xx is logged through the redacting logger (`frontdesk.observability.logging`); an
    exception becomes a 500 with a plain reason, and goes no further: the server does not print
    its traceback (with whatever customer data it holds) around the redaction.

    Failures of the layers outside are theirs, and pass: the body size limit refusing a body
    as it is read, the client going away while the answer is sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        outside: list[BaseException] = []  # what the layers outside raised

        async def watched_receive() -> Message:
            try:
                return await receive()
            except BaseException as exc:
                outside.append(exc)
                raise

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if message["status"] >= 500:
                    _log().warning(
                        "http.server_error",
                        method=scope["method"],
                        path=scope["path"],
                        status=message["status"],
                    )
            try:
                await send(message)
            except BaseException as exc:
                outside.append(exc)
                raise

        try:
            await self.app(scope, watched_receive, watched_send)
        except Exception as exc:
            if _raised_by(exc, outside):
                raise
            _log().error(
                "http.unhandled_error",
                method=scope["method"],
                path=scope["path"],
                error=f"{type(exc).__name__}: {exc}",
                # Frames and lines only: the variables of a frame can hold a secret or a
                # customer's data that no redaction pattern knows.
                traceback="".join(traceback.format_exception(exc)),
            )
            if not started:
                failure = JSONResponse(
                    {"detail": "internal error; it has been logged"},
                    status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
                )
                await failure(scope, receive, send)


def _raised_by(exc: BaseException | None, raised: list[BaseException]) -> bool:
    """`exc` is one of `raised`, carries one in its group, or was raised while handling one."""
    while exc is not None:
        if any(exc is each for each in raised):
            return True
        if isinstance(exc, BaseExceptionGroup):
            return any(_raised_by(each, raised) for each in exc.exceptions)
        exc = exc.__cause__ or exc.__context__
    return False


def _log() -> structlog.typing.FilteringBoundLogger:
    # Fetched when used, so it follows the configuration of the moment (not a cached one).
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger("frontdesk.http")
    return logger

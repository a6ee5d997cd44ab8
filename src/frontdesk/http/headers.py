"""Security headers on every response (docs/security.md#security-headers).

Every page and answer gets a Content-Security-Policy, `X-Content-Type-Options: nosniff` and
`Referrer-Policy: same-origin`, plus `Strict-Transport-Security` when the request came over TLS
(directly, or through a proxy uvicorn trusts for `X-Forwarded-Proto`). No page may be framed
(`frame-ancestors 'none'`, `X-Frame-Options: DENY`) except the chat page, which the embeddable
widget frames on the sites of `server.widget_origins`. The chat page's inline script and style
are allowed by their hashes, nothing else inline; the inbox runs only its own files.
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HSTS = "max-age=31536000"  # a year; subdomains are the company's business, not ours
# The inbox, the API and the widget script: only this server's own files, nothing inline.
DEFAULT_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's /docs and /redoc load their scripts from a CDN with inline set-up: not framed.
DOCS_POLICY = "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
CHAT_PATH = "/"
_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)


def chat_policy(page: str, widget_origins: list[str]) -> str:
    """The chat page's policy: its own inline script and style by hash, requests to this
    server only, framed only by the widget's sites."""
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for kind, body in _INLINE.findall(page):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        hashes[kind].append(f"'sha256-{digest}'")
    scripts = " ".join(hashes["script"]) or "'none'"
    styles = " ".join(hashes["style"]) or "'none'"
    return (
        f"default-src 'none'; script-src {scripts}; style-src {styles}; connect-src 'self'; "
        "img-src 'self' data:; form-action 'self'; base-uri 'none'; "
        f"frame-ancestors {' '.join(widget_origins)}"
    )


class SecurityHeaders:
    def __init__(self, app: ASGIApp, chat_policy: str) -> None:
        self.app = app
        self.chat_policy = chat_policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if path == CHAT_PATH:
                    policy = self.chat_policy
                else:
                    policy = DOCS_POLICY if path in DOCS_PATHS else DEFAULT_POLICY
                    headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Content-Security-Policy", policy)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                if scope.get("scheme") == "https":
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, with_headers)

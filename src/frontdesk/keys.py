"""The deployment's secret key: signs conversation tokens and staff cookies, and derives the
one-time codes of email verification and the rating links of email replies. Configured, or
generated once per data directory."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from frontdesk.config import Settings


def secret_key(settings: Settings) -> str:
    """The configured key, or one generated once per data directory (owner-only file)."""
    configured = os.environ.get(settings.server.secret_key_env)
    if configured:
        return configured
    path: Path = settings.data_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def rating_token(key: str, conversation_id: str) -> str:
    """What an email's rating link carries: it may rate the conversation, not read it."""
    digest = hmac.new(key.encode(), f"rating:{conversation_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def rating_link(public_url: str, key: str, conversation_id: str, score: int) -> str:
    """The link of an email reply that rates its conversation `score` (1 to 5)."""
    token = rating_token(key, conversation_id)
    return f"{public_url.rstrip('/')}/rate/{conversation_id}?score={score}&t={token}"

"""The deployment's secret key: signs conversation tokens and staff cookies, and derives the
one-time codes of email verification. Configured, or generated once per data directory."""

from __future__ import annotations

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

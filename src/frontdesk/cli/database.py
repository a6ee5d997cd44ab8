"""`frontdesk migrate`: the database schema."""

from __future__ import annotations

from frontdesk.cli.common import console, settings_or_exit


def migrate() -> None:
    """Create or upgrade the database schema."""
    from frontdesk.runtime.services import open_store

    settings = settings_or_exit()
    open_store(settings)
    console.print(f"schema is up to date at {settings.store_url}")

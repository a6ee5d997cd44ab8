"""What every command shares: the consoles, settings with a readable error, failing with a code."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import typer
from rich.console import Console

from frontdesk.clock import utcnow
from frontdesk.config import ConfigError, Settings, get_settings

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


def settings_or_exit() -> Settings:
    """The settings, or exit 2 with the key, value and fix instead of a traceback."""
    try:
        return get_settings()
    except ConfigError as exc:
        errors.print(f"[red]{exc}[/red]", markup=True, highlight=False)
        raise typer.Exit(2) from None


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error and return the exit to raise: 1 when something failed, 2 for bad input."""
    errors.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def parse_moment(value: str) -> datetime:
    """'24h', '7d', '90m' ago, or an ISO time (UTC when it has no zone)."""
    match = re.fullmatch(r"(\d+)([mhd])", value.strip())
    if match:
        unit = {"m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
        return utcnow() - timedelta(**{unit: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            "use 24h, 7d, 90m or an ISO time such as 2026-11-01T00:00"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

"""`frontdesk metrics`: how the service did over a time window."""

from __future__ import annotations

from typing import Annotated

import typer

from frontdesk.cli.common import console, fail, parse_moment, settings_or_exit
from frontdesk.clock import utcnow


def metrics(
    since: Annotated[str, typer.Option(help="start: 24h, 7d, 90m ago or an ISO time")] = "24h",
    until: Annotated[str | None, typer.Option(help="end; default now")] = None,
) -> None:
    """Tier shares, automatic resolution, handoffs, handle time and reopen rate."""
    from frontdesk.runtime.services import open_store
    from frontdesk.store.metrics import service_metrics

    start = parse_moment(since)
    end = parse_moment(until) if until else utcnow()
    if start >= end:
        raise fail("--since must be before --until", code=2)
    report = service_metrics(open_store(settings_or_exit()), start, end)
    console.print_json(report.model_dump_json())

"""`frontdesk report`: the service over a window on one HTML page, or as JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import typer

from frontdesk.cli.common import console, fail, parse_moment, settings_or_exit
from frontdesk.clock import utcnow


def report(
    since: Annotated[str, typer.Option(help="start: 30d, 24h, 90m ago or an ISO time")] = "30d",
    until: Annotated[str | None, typer.Option(help="end; default now")] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="the file to write; default report.html, or stdout for json"),
    ] = None,
    format: Annotated[
        Literal["html", "json"], typer.Option(help="html (one page with plots) or json")
    ] = "html",
    baseline_since: Annotated[
        str | None,
        typer.Option(help="start of the baseline window; default the window just before"),
    ] = None,
    baseline_until: Annotated[
        str | None, typer.Option(help="end of the baseline window; default the window's start")
    ] = None,
) -> None:
    """Volume, tiers, escalations, automation, handle time, latency, CSAT and cost against
    an all-human team, with the change in escalation rate and handle time."""
    from frontdesk.analytics.figures import Window, build_report
    from frontdesk.analytics.page import render_page
    from frontdesk.runtime.services import open_store

    start = parse_moment(since)
    end = parse_moment(until) if until else utcnow()
    if start >= end:
        raise fail("--since must be before --until", code=2)
    baseline = None
    if baseline_since is not None:
        baseline = Window(
            parse_moment(baseline_since),
            parse_moment(baseline_until) if baseline_until else start,
        )
        if baseline.since >= baseline.until:
            raise fail("--baseline-since must be before --baseline-until", code=2)
    elif baseline_until is not None:
        raise fail("--baseline-until needs --baseline-since", code=2)
    settings = settings_or_exit()
    zone = ZoneInfo(settings.report.timezone or settings.routing.business_hours.timezone)
    store = open_store(settings)
    try:
        built = build_report(
            store, Window(start, end), settings.report, settings.llm.prices, zone, baseline
        )
    finally:
        store.engine.dispose()
    if format == "json":
        text = built.model_dump_json(indent=2) + "\n"
        if out is None:
            typer.echo(text, nl=False)  # verbatim: no markup, emoji codes or wrapping
            return
    else:
        text = render_page(built)
    target = out or Path("report.html")
    target.write_text(text, encoding="utf-8")
    console.print(f"wrote {target}", markup=False, highlight=False)

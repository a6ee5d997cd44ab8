"""`frontdesk ingest`: help articles into the knowledge base."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from frontdesk.cli.common import console, errors, fail, settings_or_exit


def ingest(
    path: Annotated[
        Path, typer.Argument(help="a Markdown, HTML, text or PDF file, or a folder of them")
    ],
) -> None:
    """Add or update knowledge-base articles (unchanged files are skipped). Given a folder, also
    remove the articles once ingested from it whose files have been deleted.

    Exits 1 when some files could not be read (each is listed with the reason; the rest are
    ingested and what was indexed before from a failed file is kept), 2 when PATH holds nothing
    to ingest.
    """
    from frontdesk.knowledge.dense import MiniLmEncoder, embed_missing
    from frontdesk.knowledge.ingest import IngestError, ingest_path
    from frontdesk.runtime.services import open_store

    settings = settings_or_exit()
    store = open_store(settings)
    started = time.perf_counter()
    try:
        report = ingest_path(store, path)
    except IngestError as exc:
        raise fail(str(exc), code=2) from None
    for source, reason in report.failed.items():
        errors.print(f"[yellow]skipped[/yellow] {source}: {reason}", highlight=False)
    for source in report.removed:
        console.print(f"removed {source}: the file was deleted", highlight=False)
    encoded = 0
    if settings.knowledge.dense == "minilm":
        encoded = embed_missing(store, MiniLmEncoder())
    console.print(
        f"{len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.failed)} skipped, "
        f"{len(report.removed)} removed (file deleted); "
        f"{encoded} passages encoded in {time.perf_counter() - started:.1f} s; "
        f"running workers pick the changes up within {settings.knowledge.refresh_seconds:g} s"
    )
    if report.failed:
        raise typer.Exit(1)

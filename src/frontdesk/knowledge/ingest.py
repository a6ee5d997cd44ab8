"""Load help articles into the store; only new or changed files are parsed again.

Every file is its own transaction: a file that cannot be read is reported with the reason and
skipped, and whatever was indexed from it before stays as it was. Ingesting a folder also removes
the articles once ingested from below it whose files are gone, so a deleted article stops being
quoted.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from frontdesk.clock import utcnow
from frontdesk.knowledge.chunking import Article
from frontdesk.knowledge.readers import (
    MAX_FILE_BYTES,
    SUPPORTED,
    UnreadableDocument,
    read_article,
    too_large,
)
from frontdesk.store.base import new_id
from frontdesk.store.repository import Store
from frontdesk.store.tables import KnowledgeChunkRow, KnowledgeDocumentRow

DEMO_PREFIX = "demo:"


class IngestError(ValueError):
    """Nothing could be ingested at all (a missing path, a folder without articles)."""


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # ingested before, file since deleted
    failed: dict[str, str] = field(default_factory=dict)  # source → why it was skipped


def ingest_path(store: Store, path: Path) -> IngestReport:
    """Ingest one file, or every supported file below a folder (others are not looked at)."""
    if not path.exists():
        raise IngestError(f"{path}: no such file or folder")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED)
        if not files:
            raise IngestError(f"{path}: holds no {', '.join(SUPPORTED)} files")
    else:
        files = [path]
    report = IngestReport()
    for file in files:
        source = str(file.resolve())
        try:
            size = file.stat().st_size
            data = b"" if size > MAX_FILE_BYTES else file.read_bytes()
        except OSError as exc:
            report.failed[source] = f"cannot be read ({exc.strerror or exc})"
            continue
        if size > MAX_FILE_BYTES:
            report.failed[source] = too_large(size)
            continue
        ingest_bytes(store, source, file.name, data, report)
    if path.is_dir():
        report.removed = remove_vanished(store, path)
    return report


def remove_vanished(store: Store, folder: Path) -> list[str]:
    """Delete the documents ingested from below `folder` whose files no longer exist."""
    prefix = str(folder.resolve()).rstrip(os.sep) + os.sep
    with store.session() as session:
        below = session.execute(
            select(KnowledgeDocumentRow.id, KnowledgeDocumentRow.source).where(
                KnowledgeDocumentRow.source.startswith(prefix, autoescape=True)
            )
        ).all()
        gone = {id_: source for id_, source in below if not Path(source).exists()}
        if gone:
            session.execute(
                delete(KnowledgeChunkRow).where(KnowledgeChunkRow.document_id.in_(gone))
            )
            session.execute(delete(KnowledgeDocumentRow).where(KnowledgeDocumentRow.id.in_(gone)))
    return sorted(gone.values())


def ingest_demo(store: Store) -> IngestReport:
    """The Harbor Goods demo articles shipped inside the package."""
    report = IngestReport()
    folder = resources.files("frontdesk.knowledge").joinpath("demo_kb")
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".md"):
            ingest_bytes(store, DEMO_PREFIX + entry.name, entry.name, entry.read_bytes(), report)
    return report


def ingest_bytes(store: Store, source: str, name: str, data: bytes, report: IngestReport) -> None:
    """Add, replace or skip the document `source`; `name`'s suffix picks the format."""
    digest = hashlib.sha256(data).hexdigest()
    with store.session() as session:
        document = session.scalar(
            select(KnowledgeDocumentRow).where(KnowledgeDocumentRow.source == source)
        )
        if document is not None and document.sha256 == digest:
            report.unchanged.append(source)
            return
        try:
            article = read_article(name, data)
        except UnreadableDocument as exc:
            report.failed[source] = str(exc)
            return
        if document is None:
            document = KnowledgeDocumentRow(id=new_id(), source=source)
            session.add(document)
            report.added.append(source)
        else:
            session.execute(
                delete(KnowledgeChunkRow).where(KnowledgeChunkRow.document_id == document.id)
            )
            report.updated.append(source)
        _store_article(session, document, article, digest)


def _store_article(
    session: Session, document: KnowledgeDocumentRow, article: Article, digest: str
) -> None:
    document.title = article.title[:300]
    document.sha256 = digest
    document.ingested_at = utcnow()
    session.flush()
    session.add_all(
        KnowledgeChunkRow(
            id=new_id(),
            document_id=document.id,
            ordinal=i,
            heading=c.heading[:500],
            text=c.text,
            asked="\n".join(c.asked),
        )
        for i, c in enumerate(article.chunks)
    )

"""Load help articles into the store; only new or changed files are parsed again."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from sqlalchemy import delete, select

from frontdesk.knowledge.chunking import Article, split_markdown, split_plain_text
from frontdesk.store.repository import Store, new_id
from frontdesk.store.tables import KnowledgeChunkRow, KnowledgeDocumentRow, utcnow

SPLITTERS = {".md": split_markdown, ".markdown": split_markdown, ".txt": split_plain_text}
DEMO_PREFIX = "demo:"


class IngestError(ValueError):
    pass


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def chunks_changed(self) -> bool:
        return bool(self.added or self.updated)


def ingest_path(store: Store, path: Path) -> IngestReport:
    """Ingest one file or every Markdown and text file below a folder."""
    if not path.exists():
        raise IngestError(f"{path}: no such file or folder")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in SPLITTERS)
        if not files:
            raise IngestError(f"{path}: holds no {', '.join(SPLITTERS)} files")
    elif path.suffix.lower() in SPLITTERS:
        files = [path]
    else:
        raise IngestError(f"{path}: unsupported file type; use {', '.join(SPLITTERS)}")
    report = IngestReport()
    for file in files:
        _ingest_one(store, str(file.resolve()), file.name, file.read_text("utf-8"), report)
    return report


def ingest_demo(store: Store) -> IngestReport:
    """The Harbor Goods demo articles shipped inside the package."""
    report = IngestReport()
    folder = resources.files("frontdesk.knowledge").joinpath("demo_kb")
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".md"):
            text = entry.read_text("utf-8")
            _ingest_one(store, DEMO_PREFIX + entry.name, entry.name, text, report)
    return report


def _ingest_one(store: Store, source: str, name: str, text: str, report: IngestReport) -> None:
    digest = hashlib.sha256(text.encode()).hexdigest()
    with store.session() as session:
        document = session.scalar(
            select(KnowledgeDocumentRow).where(KnowledgeDocumentRow.source == source)
        )
        if document is not None and document.sha256 == digest:
            report.unchanged.append(source)
            return
        article = _split(name, text)
        if document is None:
            document = KnowledgeDocumentRow(id=new_id(), source=source)
            session.add(document)
            report.added.append(source)
        else:
            session.execute(
                delete(KnowledgeChunkRow).where(KnowledgeChunkRow.document_id == document.id)
            )
            report.updated.append(source)
        document.title = article.title
        document.sha256 = digest
        document.ingested_at = utcnow()
        session.flush()
        session.add_all(
            KnowledgeChunkRow(
                id=new_id(), document_id=document.id, ordinal=i, heading=c.heading, text=c.text
            )
            for i, c in enumerate(article.chunks)
        )


def _split(name: str, text: str) -> Article:
    stem = Path(name).stem.replace("-", " ").replace("_", " ").capitalize()
    return SPLITTERS[Path(name).suffix.lower()](text, stem)

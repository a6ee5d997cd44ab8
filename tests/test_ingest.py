"""Ingestion: formats, heading paths, incremental re-ingest and bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontdesk.config import load_settings
from frontdesk.knowledge.chunking import MAX_CHUNK_CHARS, split_markdown, split_plain_text
from frontdesk.knowledge.index import load_passages
from frontdesk.knowledge.ingest import IngestError, ingest_path
from frontdesk.runtime.services import open_store
from frontdesk.store.repository import Store


def pdf_with_text(lines: list[str]) -> bytes:
    """A one-page PDF whose text layer holds `lines` (Helvetica, one line each)."""
    shown = " ".join(f"({line}) Tj 0 -16 Td" for line in lines)
    content = f"BT /F1 12 Tf 72 720 Td {shown} ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    pdf = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(pdf))
        pdf += f"{number} 0 obj\n{body}\nendobj\n".encode()
    table = len(pdf)
    pdf += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    pdf += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    pdf += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{table}\n%%EOF\n".encode()
    )
    return pdf


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(load_settings(data_dir=tmp_path / "data"))


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "returns.md").write_text(
        "# Returns\nWe take most things back.\n## Window\n30 days.\n### Exceptions\nFinal sale.\n"
    )
    (folder / "shipping.html").write_text(
        "<html><head><title>ignored</title><style>p {}</style></head><body>"
        "<nav>Home | Shop</nav><h1>Shipping</h1><p>We ship <b>worldwide</b>.</p>"
        "<h2>Costs</h2><ul><li>Standard: free</li><li>Express: $9</li></ul>"
        "<script>track()</script></body></html>"
    )
    (folder / "gift-cards.txt").write_text("Gift cards\n\nThey never expire.\n\nNo cash value.")
    (folder / "warranty.pdf").write_bytes(pdf_with_text(["Warranty", "Two years on electronics."]))
    (folder / "photo.png").write_bytes(b"\x89PNG")
    return folder


def test_every_format_keeps_its_heading_path_and_source(store: Store, articles: Path) -> None:
    report = ingest_path(store, articles)
    assert len(report.added) == 4 and not report.failed
    passages = {(p.source.rsplit("/", 1)[-1], p.heading, p.text) for p in load_passages(store)}
    assert ("returns.md", "Returns › Window › Exceptions", "Final sale.") in passages
    assert ("shipping.html", "Shipping", "We ship worldwide.") in passages
    assert ("shipping.html", "Shipping › Costs", "Standard: free\n\nExpress: $9") in passages
    assert ("gift-cards.txt", "Gift cards", "They never expire.") in passages
    [warranty] = [p for p in load_passages(store) if p.source.endswith("warranty.pdf")]
    assert "Two years on electronics." in warranty.text
    assert all("track()" not in text and "Home" not in text for *_, text in passages)


def test_re_ingest_parses_only_changed_files(store: Store, articles: Path) -> None:
    ingest_path(store, articles)
    before = {p.chunk_id: p.source for p in load_passages(store)}
    (articles / "returns.md").write_text("# Returns\n## Window\n60 days now.\n")
    report = ingest_path(store, articles)
    assert [Path(source).name for source in report.updated] == ["returns.md"]
    assert not report.added and len(report.unchanged) == 3
    after = {p.chunk_id: p.source for p in load_passages(store)}
    kept = {chunk for chunk, source in before.items() if not source.endswith("returns.md")}
    assert kept <= after.keys()
    assert [p.text for p in load_passages(store) if p.source.endswith("returns.md")] == [
        "60 days now."
    ]


def test_bad_files_are_reported_with_a_reason_and_the_rest_ingested(
    store: Store, tmp_path: Path
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "empty.md").write_text("  \n")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    (folder / "latin1.txt").write_bytes("Caf\xe9 opening hours".encode("latin-1"))
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog")
    (folder / "scanned.pdf").write_bytes(pdf_with_text([]))
    with (folder / "huge.md").open("wb") as huge:
        huge.truncate(50 * 2**20)
    (folder / "good.md").write_text("# Good\nStill here.\n")
    report = ingest_path(store, folder)
    reasons = {Path(source).name: reason for source, reason in report.failed.items()}
    assert reasons.keys() == {
        "empty.md", "binary.txt", "latin1.txt", "broken.pdf", "scanned.pdf", "huge.md"
    }  # fmt: skip
    assert reasons["empty.md"] == "empty file"
    assert "binary" in reasons["binary.txt"]
    assert "UTF-8" in reasons["latin1.txt"]
    assert reasons["broken.pdf"].startswith("broken PDF")
    assert "no extractable text" in reasons["scanned.pdf"]
    assert "50 MB is over the 10 MB limit" in reasons["huge.md"]
    assert [Path(source).name for source in report.added] == ["good.md"]


def test_a_file_that_turns_bad_keeps_what_was_indexed(store: Store, articles: Path) -> None:
    ingest_path(store, articles)
    before = load_passages(store)
    (articles / "returns.md").write_bytes(b"\x00" * 64)
    (articles / "warranty.pdf").write_bytes(b"%PDF-1.4 truncated")
    report = ingest_path(store, articles)
    assert {Path(source).name for source in report.failed} == {"returns.md", "warranty.pdf"}
    assert load_passages(store) == before


def test_an_article_deleted_from_the_folder_is_removed_on_the_next_ingest(
    store: Store, articles: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere.md"
    elsewhere.write_text("# Elsewhere\nKept: not below the folder.\n")
    ingest_path(store, elsewhere)
    ingest_path(store, articles)
    (articles / "gift-cards.txt").unlink()
    sibling = tmp_path / "kb-old"  # shares the folder's name as a prefix, not its path
    sibling.mkdir()
    (sibling / "old.md").write_text("# Old\nStays.\n")
    ingest_path(store, sibling)
    report = ingest_path(store, articles)
    assert [Path(source).name for source in report.removed] == ["gift-cards.txt"]
    names = {Path(p.source).name for p in load_passages(store)}
    assert names == {"returns.md", "shipping.html", "warranty.pdf", "elsewhere.md", "old.md"}
    elsewhere.unlink()
    assert ingest_path(store, articles).removed == []  # a file outside the folder is not its


def test_a_path_with_nothing_to_ingest_is_an_error(store: Store, tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no such file"):
        ingest_path(store, tmp_path / "missing")
    (tmp_path / "pictures").mkdir()
    (tmp_path / "pictures" / "a.png").write_bytes(b"\x89PNG")
    with pytest.raises(IngestError, match="holds no"):
        ingest_path(store, tmp_path / "pictures")
    report = ingest_path(store, tmp_path / "pictures" / "a.png")
    assert "unsupported file type" in report.failed[str(tmp_path / "pictures" / "a.png")]


def test_markdown_splits_by_heading_path() -> None:
    article = split_markdown(
        "# Returns\nintro\n## Window\n30 days.\n### Exceptions\nFinal sale.\n## Cost\nFree.\n", "x"
    )
    assert article.title == "Returns"
    assert [(c.heading, c.text) for c in article.chunks] == [
        ("Returns", "intro"),
        ("Returns › Window", "30 days."),
        ("Returns › Window › Exceptions", "Final sale."),
        ("Returns › Cost", "Free."),
    ]


def test_long_sections_are_cut_at_paragraphs_and_sentences_under_one_heading() -> None:
    paragraph = " ".join(f"Sentence number {i} is here." for i in range(100))
    article = split_markdown(f"# Guide\n## Long\n{paragraph}\n\nShort closing paragraph.\n", "x")
    assert len(article.chunks) > 1
    assert {chunk.heading for chunk in article.chunks} == {"Guide › Long"}
    assert all(len(chunk.text) <= MAX_CHUNK_CHARS for chunk in article.chunks)
    rejoined = " ".join(chunk.text.replace("\n\n", " ") for chunk in article.chunks)
    assert rejoined == f"{paragraph} Short closing paragraph."


def test_plain_text_splits_by_paragraph() -> None:
    article = split_plain_text("Gift cards\n\nThey never expire.\n\nNo cash value.", "x")
    assert article.title == "Gift cards"
    assert [c.text for c in article.chunks] == ["They never expire.", "No cash value."]

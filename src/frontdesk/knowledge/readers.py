"""Turn a file into an article, or say in a few words why it cannot be read."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from pathlib import Path

from frontdesk.knowledge.chunking import Article, split_markdown, split_plain_text

MAX_FILE_BYTES = 10 * 1024 * 1024
MARKDOWN = (".md", ".markdown")
TEXT = (".txt",)
HTML = (".html", ".htm")
PDF = (".pdf",)
SUPPORTED = (*MARKDOWN, *TEXT, *HTML, *PDF)


class UnreadableDocument(ValueError):
    """The file is skipped; the message is the reason shown to whoever ran the ingest."""


def read_article(name: str, data: bytes) -> Article:
    """Parse the bytes of a file called `name` (its suffix picks the format)."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED:
        raise UnreadableDocument(f"unsupported file type; use {', '.join(SUPPORTED)}")
    if not data.strip():
        raise UnreadableDocument("empty file")
    if len(data) > MAX_FILE_BYTES:
        raise UnreadableDocument(too_large(len(data)))
    title = Path(name).stem.replace("-", " ").replace("_", " ").capitalize()
    if suffix in PDF:
        article = split_plain_text(_pdf_text(data), title)
    else:
        text = _decode(data)
        if suffix in HTML:
            article = split_markdown(html_to_markdown(text), title)
        elif suffix in MARKDOWN:
            article = split_markdown(text, title)
        else:
            article = split_plain_text(text, title)
    if not article.chunks:
        raise UnreadableDocument("no text to index")
    return article


def too_large(size: int) -> str:
    return (
        f"{size / 2**20:.0f} MB is over the {MAX_FILE_BYTES // 2**20} MB limit for one article; "
        "split it"
    )


def _decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise UnreadableDocument("binary content (NUL bytes) in a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableDocument(f"not UTF-8 text (byte {exc.start})") from None


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise UnreadableDocument(f"broken PDF ({type(exc).__name__}: {exc})") from None
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    if not text:
        raise UnreadableDocument("PDF holds no extractable text (scanned images need OCR)")
    return text


class _MarkdownWriter(HTMLParser):
    """Headings become Markdown headings so the heading path survives; other blocks paragraphs."""

    BLOCKS = frozenset({"p", "div", "li", "tr", "br", "section", "article", "blockquote", "pre"})
    SKIPPED = frozenset(
        {"head", "title", "script", "style", "nav", "header", "footer", "noscript", "template"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skipping = 0
        self.heading_level = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self.skipping += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self._end_block()
            self.heading_level = int(tag[1])
        elif tag in self.BLOCKS:
            self._end_block()

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif re.fullmatch(r"h[1-6]", tag) or tag in self.BLOCKS:
            self._end_block()

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.current.append(data)

    def close(self) -> None:
        super().close()
        self._end_block()

    def _end_block(self) -> None:
        text = " ".join("".join(self.current).split())
        self.current = []
        if text:
            prefix = "#" * self.heading_level + " " if self.heading_level else ""
            self.lines.extend([prefix + text, ""])
        self.heading_level = 0


def html_to_markdown(html: str) -> str:
    writer = _MarkdownWriter()
    writer.feed(html)
    writer.close()
    return "\n".join(writer.lines)

"""Split help articles into passages that can each be quoted as an answer on their own."""

from __future__ import annotations

import re
from dataclasses import dataclass

HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


@dataclass(frozen=True)
class Chunk:
    heading: str  # "Article title › Section › Subsection"
    text: str


@dataclass(frozen=True)
class Article:
    title: str
    chunks: list[Chunk]


def split_markdown(source: str, fallback_title: str) -> Article:
    """One chunk per section; the heading path keeps every ancestor heading for context."""
    title = fallback_title
    path: list[str] = []
    chunks: list[Chunk] = []
    body: list[str] = []

    def flush() -> None:
        text = "\n".join(body).strip()
        if text:
            chunks.append(Chunk(" › ".join([title, *path]) if path else title, text))
        body.clear()

    for line in source.splitlines():
        match = HEADING.match(line)
        if match is None:
            body.append(line)
            continue
        flush()
        level, heading = len(match.group(1)), match.group(2)
        if level == 1:
            title, path = heading, []
        else:
            path = [*path[: level - 2], heading]
    flush()
    return Article(title, chunks)


def split_plain_text(source: str, fallback_title: str) -> Article:
    """Paragraphs of a text file; the first line is the title when it stands alone."""
    paragraphs = [part.strip() for part in re.split(r"\n\s*\n", source) if part.strip()]
    title = fallback_title
    if paragraphs and "\n" not in paragraphs[0] and len(paragraphs[0]) <= 120:
        title = paragraphs.pop(0)
    return Article(title, [Chunk(title, paragraph) for paragraph in paragraphs])

"""Split help articles into passages that can each be quoted as an answer on their own."""

from __future__ import annotations

import re
from dataclasses import dataclass

from frontdesk.vocabulary import SENTENCE_END

HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
# Other ways customers ask what a section answers, kept out of the text a customer reads:
#   <!-- asked
#   can I still call off my order
#   -->
ASKED_START = re.compile(r"^\s*<!--\s*asked\b(.*)$")
COMMENT_END = "-->"
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# A passage is quoted and embedded whole: long sections are cut at paragraphs (sentences when
# a paragraph alone is too long), and every piece keeps the section's heading path.
MAX_CHUNK_CHARS = 1200


@dataclass(frozen=True)
class Chunk:
    heading: str  # "Article title › Section › Subsection"
    text: str
    asked: tuple[str, ...] = ()  # the section's other phrasings of its question


@dataclass(frozen=True)
class Article:
    title: str
    chunks: list[Chunk]


def split_markdown(source: str, fallback_title: str) -> Article:
    """One chunk per section; the heading path keeps every ancestor heading for context, and
    an `<!-- asked … -->` block in a section lists other ways its question is asked."""
    title = fallback_title
    path: list[str] = []
    chunks: list[Chunk] = []
    body: list[str] = []
    asked: list[str] = []
    in_asked = False

    def flush() -> None:
        heading = " › ".join([title, *path]) if path else title
        chunks.extend(Chunk(heading, piece, tuple(asked)) for piece in bounded("\n".join(body)))
        body.clear()
        asked.clear()

    for line in source.splitlines():
        start = ASKED_START.match(line)
        if in_asked or start is not None:
            content = start.group(1) if start is not None else line
            in_asked = COMMENT_END not in content
            question = content.split(COMMENT_END, 1)[0].strip().lstrip(":").strip()
            if question:
                asked.append(question)
            continue
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
    paragraphs = [part.strip() for part in PARAGRAPH_BREAK.split(source) if part.strip()]
    title = fallback_title
    if paragraphs and "\n" not in paragraphs[0] and len(paragraphs[0]) <= 120:
        title = paragraphs.pop(0)
    pieces = [piece for paragraph in paragraphs for piece in bounded(paragraph)]
    return Article(title, [Chunk(title, piece) for piece in pieces])


def bounded(text: str, limit: int = MAX_CHUNK_CHARS) -> list[str]:
    """`text` in pieces of at most about `limit` characters, cut at paragraphs, then sentences."""
    pieces: list[str] = []
    current = ""
    for paragraph in (part.strip() for part in PARAGRAPH_BREAK.split(text)):
        units = [paragraph] if len(paragraph) <= limit else SENTENCE_END.split(paragraph)
        for unit in filter(None, units):
            joiner = "\n\n" if unit is paragraph else " "
            if current and len(current) + len(unit) + len(joiner) > limit:
                pieces.append(current)
                current = ""
            current = f"{current}{joiner}{unit}" if current else unit
    if current:
        pieces.append(current)
    return pieces

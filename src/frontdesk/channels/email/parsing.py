"""Reading a received mail: MIME by the standard library (policy.default), HTML to text by
BeautifulSoup, the customer's new words apart from the quoted history and the signature by
mail-parser-reply. Attachments are listed and kept within a size limit, never put in the text
the agents read. A mail that cannot be read raises BrokenMail with the reason, to be stored."""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

from bs4 import BeautifulSoup
from mailparser_reply import EmailReplyParser  # type: ignore[import-untyped]  # no stubs

REPLY_LANGUAGES = ["en", "de", "fr", "es", "it", "nl"]
BLOCKS = ("p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol")
MESSAGE_ID = re.compile(r"<[^<>\s]+>")


class BrokenMail(Exception):
    """The mail cannot be read as a customer message; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    size: int
    content: bytes | None  # None when larger than the limit: listed, not kept


@dataclass(frozen=True)
class ParsedEmail:
    message: EmailMessage
    key: str  # the Message-ID, or a digest of the mail when it has none
    message_id: str | None
    in_reply_to: list[str]
    references: list[str]
    subject: str
    sender: str
    recipients: list[str]
    text: str  # the whole text, quoted history included (for staff)
    reply: str  # the customer's new words: no quote, no signature (for the agents)
    attachments: list[Attachment] = field(default_factory=list)


def read_message(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def mail_key(message_id: str | None, raw: bytes) -> str:
    return message_id or "sha256:" + hashlib.sha256(raw).hexdigest()


def parse_email(raw: bytes, max_attachment_bytes: int) -> ParsedEmail:
    try:
        message = read_message(raw)
        return _parse(message, raw, max_attachment_bytes)
    except BrokenMail:
        raise
    except Exception as exc:  # the email package's own failures on malformed input
        raise BrokenMail(f"unreadable MIME: {type(exc).__name__}: {exc}") from exc


def _parse(message: EmailMessage, raw: bytes, max_attachment_bytes: int) -> ParsedEmail:
    sender = address_of(message, "From")
    if sender is None:
        raise BrokenMail("no sender address in From")
    message_id = message_ids(message.get("Message-ID"))
    plain, html, attachments = _walk(message, max_attachment_bytes)
    if plain is None and html is None and not attachments:
        defects = ", ".join(sorted({type(d).__name__ for d in _defects(message)}))
        raise BrokenMail(f"no readable text part{f' ({defects})' if defects else ''}")
    text = plain if plain is not None else html_to_text(html or "")
    text = _tidy(text)
    return ParsedEmail(
        message=message,
        key=mail_key(message_id[0] if message_id else None, raw),
        message_id=message_id[0] if message_id else None,
        in_reply_to=message_ids(message.get("In-Reply-To")),
        references=message_ids(message.get("References")),
        subject=_one_line(str(message.get("Subject", ""))),
        sender=sender,
        recipients=[a.lower() for _, a in getaddresses(_all(message, "To", "Cc")) if "@" in a],
        text=text,
        reply=new_words(text),
        attachments=attachments,
    )


def address_of(message: Message, header: str) -> str | None:
    value = message.get(header)
    if value is None:
        return None
    _, address = parseaddr(str(value))
    return address.lower() if "@" in address else None


def message_ids(value: object) -> list[str]:
    return MESSAGE_ID.findall(str(value)) if value is not None else []


def _all(message: Message, *headers: str) -> list[str]:
    return [str(v) for header in headers for v in message.get_all(header, [])]


def _walk(
    message: EmailMessage, max_attachment_bytes: int
) -> tuple[str | None, str | None, list[Attachment]]:
    """The first text/plain and text/html parts that are not attachments, and the attachments."""
    plain: str | None = None
    html: str | None = None
    attachments: list[Attachment] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        disposition = part.get_content_disposition()
        name = part.get_filename()
        if disposition == "attachment" or (name and not content_type.startswith("text/")):
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            kept = data if len(data) <= max_attachment_bytes else None
            attachments.append(
                Attachment(_one_line(name or "unnamed")[:255], content_type, len(data), kept)
            )
        elif content_type == "text/plain" and plain is None:
            plain = decoded_text(part)
        elif content_type == "text/html" and html is None:
            html = decoded_text(part)
    return plain, html, attachments


def decoded_text(part: Message) -> str:
    """A text part in its declared character set; an unknown or wrong one costs the odd
    character (replaced), never the mail."""
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else str(part.get_payload()).encode()
    charset = part.get_content_charset() or "us-ascii"
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"
    if charset in ("us-ascii", "ascii"):
        charset = "utf-8"  # undeclared 8-bit text is most often UTF-8
    return data.decode(charset, errors="replace")


def html_to_text(html: str) -> str:
    """Readable text of an HTML body: blocks on lines of their own, quoted parts (blockquote)
    marked with '> ' as a plain-text mail would quote them."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "head", "title"]):
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all(BLOCKS):
        block.insert_after("\n")
    for quote in reversed(soup.find_all("blockquote")):
        lines = quote.get_text().strip("\n").splitlines()
        quote.replace_with("\n" + "\n".join(f"> {line}" for line in lines) + "\n")
    return soup.get_text()


def new_words(text: str) -> str:
    """The text without quoted replies and signature; the whole text when nothing else is left
    (a mail that is all quote is still the customer's)."""
    try:
        parsed = EmailReplyParser(languages=REPLY_LANGUAGES).read(text=text)
        latest = parsed.replies[0].body.strip() if parsed.replies else ""
    except Exception:  # the library's rules failing on odd input must not lose the mail
        latest = ""
    return latest or text


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\xa0", " ").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _defects(message: Message) -> list[object]:
    return [d for part in message.walk() for d in getattr(part, "defects", [])]

"""Reading mail: the realistic replies in tests/data/email/ (Gmail, Outlook HTML, Apple Mail,
Latin-1 quoted-printable), attachments, broken MIME, and the mail never to be answered."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontdesk.channels.email.parsing import BrokenMail, html_to_text, parse_email
from frontdesk.channels.email.safety import automatic

DATA = Path(__file__).parent / "data" / "email"

# The customer's new words in each realistic reply: no quoted history, no signature.
REPLIES = {
    "gmail_reply.eml": 'Thanks, but the tracking page still says "label created". '
    "Can you check again?",
    "outlook_html_reply.eml": "Hello,\nI still have not received the return label for the "
    "jacket. Please send it to this address.",
    "apple_reply.eml": "The link has expired before I could use it — can you send a new one?",
    "latin1_reply.eml": "Ich möchte die Jacke zurückschicken, sie ist zu groß.",
}


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


@pytest.mark.parametrize("name", sorted(REPLIES))
def test_quote_and_signature_are_stripped(name: str) -> None:
    mail = parse_email(read(name), max_attachment_bytes=2**20)
    assert mail.reply == REPLIES[name]
    assert mail.reply in mail.text  # the whole text, quote included, is kept for staff
    assert automatic(mail.message, "customer@example.org") is None


def test_headers_charsets_and_threading_ids_are_read() -> None:
    gmail = parse_email(read("gmail_reply.eml"), 2**20)
    assert gmail.sender == "jane.doe@example.org"
    assert gmail.message_id == "<CAF1a2b3c4d5e6f@mail.gmail.com>"
    assert gmail.in_reply_to == ["<reply.0a1b2c3d@harbor.example>"]
    assert gmail.references[-1] == "<reply.0a1b2c3d@harbor.example>"
    latin = parse_email(read("latin1_reply.eml"), 2**20)
    assert latin.subject == "Rücksendung"
    assert latin.sender == "juergen@example.de"


def test_html_only_mail_becomes_text_with_its_quote_marked() -> None:
    html = (
        "<div>Where is <b>my</b> order?<br>Thanks</div>"
        '<div class="gmail_quote">On Tue wrote:<blockquote>We shipped it.</blockquote></div>'
        "<script>alert(1)</script>"
    )
    text = html_to_text(html)
    assert "Where is my order?" in text
    assert "> We shipped it." in text
    assert "alert" not in text


def test_attachments_are_listed_kept_within_the_limit_and_not_in_the_text() -> None:
    mail = parse_email(read("attachment.eml"), max_attachment_bytes=2**20)
    [photo] = mail.attachments
    assert (photo.name, photo.content_type, photo.size) == ("lamp.jpg", "image/jpeg", 57)
    assert photo.content is not None and photo.content.startswith(b"\xff\xd8")
    assert "/9j/" not in mail.text
    [too_large] = parse_email(read("attachment.eml"), max_attachment_bytes=10).attachments
    assert too_large.size == 57 and too_large.content is None


def test_broken_mime_raises_with_the_reason() -> None:
    with pytest.raises(BrokenMail, match="no readable text part"):
        parse_email(read("broken_mime.eml"), 2**20)
    with pytest.raises(BrokenMail, match="no sender"):
        parse_email(b"Subject: hi\r\n\r\nhello\r\n", 2**20)


@pytest.mark.parametrize(
    ("name", "envelope_from", "reason", "bounce"),
    [
        ("out_of_office.eml", "jane.doe@example.org", "Auto-Submitted: auto-replied", False),
        ("mailing_list.eml", "deals@lists.example.com", "Precedence: bulk", False),
        ("bounce.eml", "", "bounce", True),
    ],
)
def test_mail_never_to_answer(name: str, envelope_from: str, reason: str, bounce: bool) -> None:
    raw = read(name).replace(b"BOUNCED_MESSAGE_ID", b"<r1@harbor.example>")
    found = automatic(parse_email(raw, 2**20).message, envelope_from)
    assert found is not None and found.reason == reason and found.bounce is bounce
    if bounce:
        assert found.bounced_message_ids == ["<r1@harbor.example>"]


@pytest.mark.parametrize(
    "headers",
    [
        "From: noreply@shop.example\r\n",
        "From: a@b.example\r\nList-Id: <x.lists.example>\r\n",
        "From: a@b.example\r\nX-Autoreply: yes\r\n",
        "From: a@b.example\r\nX-Auto-Response-Suppress: OOF, AutoReply\r\n",
        "From: a@b.example\r\nReturn-Path: <>\r\n",
    ],
)
def test_automatic_senders_by_their_headers(headers: str) -> None:
    raw = f"{headers}Subject: x\r\n\r\nbody\r\n".encode()
    assert automatic(parse_email(raw, 2**20).message, "a@b.example") is not None


def test_a_person_marked_auto_submitted_no_is_answered() -> None:
    raw = b"From: a@b.example\r\nAuto-Submitted: no\r\nSubject: x\r\n\r\nbody\r\n"
    assert automatic(parse_email(raw, 2**20).message, "a@b.example") is None

"""The email channel end to end with real peers on loopback: swaks sends crafted mail to
frontdesk's SMTP receiver, the worker answers, the outbox sender hands the reply to an aiosmtpd
relay. On the embedded engines and on PostgreSQL + Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from sqlalchemy import select

from conftest import MovedClock
from email_peers import Relay, free_port, swaks
from frontdesk.channels.email.channel import inbox_of
from frontdesk.channels.email.receiver import SmtpReceiver
from frontdesk.channels.email.sender import OutboxSender
from frontdesk.channels.email.settings import EmailSettings
from frontdesk.config import Settings
from frontdesk.runtime.services import Services, build_services
from frontdesk.store.email import EmailStore
from frontdesk.store.tables import ConversationRow, MessageRow

DATA = Path(__file__).parent / "data" / "email"
SUPPORT = "support@harbor.example"


class Desk:
    """frontdesk with its receiver listening and a sender pointed at the test relay."""

    def __init__(self, services: Services, relay: Relay) -> None:
        self.services = services
        self.relay = relay
        self.options = services.settings.email
        self.port = self.options.listen[1] if self.options.listen else 0
        self.mail = EmailStore(services.store.engine)
        self.sender = OutboxSender(self.mail, self.options)
        self.worker = services.worker("email-test")

    def send(
        self, raw: bytes, envelope_from: str = "customer@example.org", **kwargs: object
    ) -> str:
        return swaks(self.port, raw, envelope_from, **kwargs)  # type: ignore[arg-type]

    def answer(self) -> int:
        """Process what is queued and send what that queued; returns how many emails were tried."""
        while self.worker.run_once():
            pass
        return self.sender.drain_once()

    def conversation_of(self, message_id: str) -> ConversationRow:
        with self.services.store.session() as session:
            message = session.get(MessageRow, message_id)
            assert message is not None
            conversation = session.get(ConversationRow, message.conversation_id)
            assert conversation is not None
            return conversation

    def messages(self) -> list[MessageRow]:
        with self.services.store.session() as session:
            return list(session.scalars(select(MessageRow).order_by(MessageRow.received_at)))


def email_settings(settings: Settings, relay: Relay, **overrides: object) -> Settings:
    options = EmailSettings(
        address=SUPPORT,
        smtp_listen=f"127.0.0.1:{free_port()}",
        relay_host="127.0.0.1",
        relay_port=relay.port,
        relay_starttls=False,
        **overrides,  # type: ignore[arg-type]
    )
    return settings.model_copy(update={"email": options})


@pytest.fixture
def open_desk(backend_settings: Settings, relay: Relay) -> Iterator[Callable[..., Desk]]:
    """frontdesk with `[email]` settings of the test's choosing, its receiver listening."""
    opened: list[tuple[Services, SmtpReceiver]] = []

    def open_one(**overrides: object) -> Desk:
        settings = email_settings(backend_settings, relay, **overrides)
        services = build_services(settings)
        host, port = settings.email.listen or ("", 0)
        receiver = SmtpReceiver(inbox_of(services), host, port, settings.email.smtp_max_bytes)
        opened.append((services, receiver.start()))
        return Desk(services, relay)

    yield open_one
    for services, receiver in opened:
        receiver.stop()
        services.close()


@pytest.fixture
def desk(open_desk: Callable[..., Desk]) -> Desk:
    return open_desk(max_message_bytes=64 * 1024)


def plain(
    text: str,
    subject: str = "Where is my order?",
    sender: str = "customer@example.org",
    **headers: str,
) -> bytes:
    message = EmailMessage()
    message["From"] = f"A Customer <{sender}>"
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="example.org")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    return message.as_bytes()


def tag_of(conversation_id: str) -> str:
    return conversation_id[:8]


def test_plain_mail_is_answered_by_email_in_its_thread(desk: Desk) -> None:
    raw = plain("where is my order?")
    assert "250 2.0.0 message" in desk.send(raw)
    [message] = desk.messages()
    assert (message.text, message.channel) == ("where is my order?", "email")
    conversation = desk.conversation_of(message.id)
    assert (conversation.channel, conversation.customer_ref) == ("email", "customer@example.org")
    assert desk.answer() == 1
    [reply] = desk.relay.wait_for(1)
    [row] = desk.mail.outbox_rows()
    [bot] = desk.services.store.conversation(conversation.id).replies
    tag = tag_of(conversation.id)
    original = read_message_id(raw)
    assert reply["To"] == "customer@example.org"
    assert reply["From"] == SUPPORT
    assert reply["Subject"] == f"Re: Where is my order? [#{tag}]"
    assert reply["Reply-To"] == f"support+{tag}@harbor.example"
    assert reply["In-Reply-To"] == original
    assert reply["References"] == original
    assert reply["Auto-Submitted"] == "auto-replied"  # a bot's answer: auto-responders stay quiet
    assert reply["Message-ID"] == row.message_id_header
    assert (row.status, row.purpose, row.attempts) == ("sent", "reply", 1)
    text = reply.get_body(("plain",))
    html = reply.get_body(("html",))
    assert text is not None and text.get_content().strip() == bot.text
    assert html is not None and "<p>" in html.get_content()


def read_message_id(raw: bytes) -> str:
    from frontdesk.channels.email.parsing import read_message

    return str(read_message(raw)["Message-ID"])


def test_a_reply_quoting_the_bot_joins_its_thread_without_the_quote(desk: Desk) -> None:
    first = plain("where is my order?")
    desk.send(first)
    desk.answer()
    [bot] = desk.relay.wait_for(1)
    quoted = "\n".join(f"> {line}" for line in bot.get_body(("plain",)).get_content().splitlines())
    answer = plain(
        "It is customer@example.org, thanks.\n\n--\nA Customer\nACME Ltd\n\n"
        f"On Wed, 2 Dec 2026 at 10:00, Harbor Goods <{SUPPORT}> wrote:\n{quoted}\n",
        subject=str(bot["Subject"]),
        In_Reply_To=str(bot["Message-ID"]),
        References=f"{bot['References']} {bot['Message-ID']}",
    )
    desk.send(answer)
    first_message, second = desk.messages()
    assert second.conversation_id == first_message.conversation_id
    assert second.text == "It is customer@example.org, thanks."
    desk.answer()
    _, again = desk.relay.wait_for(2)
    assert again["In-Reply-To"] == read_message_id(answer)
    assert again["References"].split() == [
        read_message_id(first),
        str(bot["Message-ID"]),
        read_message_id(answer),
    ]


def test_the_subject_token_or_plus_address_joins_when_the_headers_are_lost(desk: Desk) -> None:
    desk.send(plain("where is my order?"))
    [first] = desk.messages()
    tag = tag_of(first.conversation_id)
    desk.send(plain("Any news?", subject=f"Re: Where is my order? [#{tag}]"))
    desk.send(
        plain("And another thing.", subject="Something else"),
        to=f"support+{tag}@harbor.example",
    )
    # A stranger who copies the token does not get into the customer's conversation.
    desk.send(plain("Let me in", subject=f"Re: [#{tag}]", sender="stranger@example.net"))
    _, by_subject, by_address, stranger = desk.messages()
    assert by_subject.conversation_id == first.conversation_id
    assert by_address.conversation_id == first.conversation_id
    assert stranger.conversation_id != first.conversation_id
    assert desk.conversation_of(stranger.id).customer_ref == "stranger@example.net"


def test_a_new_subject_from_the_same_sender_is_a_new_conversation(desk: Desk) -> None:
    desk.send(plain("where is my order?"))
    desk.send(plain("Do you ship to Canada?", subject="Shipping abroad"))
    first, second = desk.messages()
    assert first.conversation_id != second.conversation_id
    assert desk.conversation_of(second.id).customer_ref == "customer@example.org"


def test_html_only_mail_is_read_as_text_without_its_quote(desk: Desk) -> None:
    message = EmailMessage()
    message["From"] = "jane@example.org"
    message["To"] = SUPPORT
    message["Subject"] = "Order"
    message["Message-ID"] = make_msgid()
    message.set_content(
        "<html><body><div>Where is <b>my</b> order?</div>"
        '<div class="gmail_quote">On Tue you wrote:<blockquote>Thanks for your order.'
        "</blockquote></div></body></html>",
        subtype="html",
    )
    desk.send(message.as_bytes(), "jane@example.org")
    [stored] = desk.messages()
    assert stored.text == "Where is my order?"


def test_an_attachment_is_listed_and_kept_never_read(desk: Desk) -> None:
    desk.send((DATA / "attachment.eml").read_bytes(), "ana@example.com")
    [stored] = desk.messages()
    assert stored.text == (
        "The lamp arrived broken, photo attached. Order #W7654321.\n\n[attachments: lamp.jpg]"
    )
    [mail] = desk.mail.mails("message")
    [attachment] = desk.mail.attachments(mail.id)
    assert (attachment.name, attachment.content_type, attachment.size) == (
        "lamp.jpg",
        "image/jpeg",
        57,
    )
    assert attachment.content is not None and attachment.content.startswith(b"\xff\xd8")


def test_auto_replies_bounces_and_lists_get_no_reply(desk: Desk) -> None:
    desk.send(plain("where is my order?", sender="jane.doe@example.org"), "jane.doe@example.org")
    desk.answer()
    [bot] = desk.relay.wait_for(1)
    out_of_office = (DATA / "out_of_office.eml").read_bytes()
    bounce = (
        (DATA / "bounce.eml")
        .read_bytes()
        .replace(b"BOUNCED_MESSAGE_ID", str(bot["Message-ID"]).encode())
    )
    assert "250 2.0.0 automatic" in desk.send(out_of_office, "jane.doe@example.org")
    assert "250 2.0.0 bounce" in desk.send(bounce, "<>")
    assert "250 2.0.0 automatic" in desk.send(
        (DATA / "mailing_list.eml").read_bytes(), "deals@lists.example.com"
    )
    assert len(desk.messages()) == 1  # none of them reached the agents
    assert desk.answer() == 0
    assert len(desk.relay.received) == 1
    kinds = [(m.kind, m.reason) for m in desk.mail.mails() if m.kind != "message"]
    assert kinds == [
        ("automatic", "Auto-Submitted: auto-replied"),
        ("bounce", "bounce"),
        ("automatic", "Precedence: bulk"),
    ]
    [reply] = desk.mail.outbox_rows()
    assert reply.status == "bounced"  # the bounce is recorded against the reply it returns
    assert reply.last_error is not None and "could not be delivered" in reply.last_error


def test_an_oversized_mail_is_stored_with_the_reason_and_not_answered(desk: Desk) -> None:
    raw = plain("x" * 100_000 + "\nwhere is my order?")
    assert "250 2.0.0 rejected" in desk.send(raw)
    [mail] = desk.mail.mails()
    assert mail.kind == "rejected"
    assert mail.reason is not None and mail.reason.startswith("oversized:")
    assert mail.sender == "customer@example.org"
    assert mail.raw is not None and len(mail.raw) == mail.size > 64 * 1024
    assert desk.messages() == []


def test_broken_mime_is_stored_with_the_reason(desk: Desk) -> None:
    raw = (DATA / "broken_mime.eml").read_bytes()
    assert "250 2.0.0 rejected" in desk.send(raw, "bob@example.com")
    [mail] = desk.mail.mails()
    assert (mail.kind, mail.message_id_header, mail.sender) == (
        "rejected",
        "<broken-1@example.com>",
        "bob@example.com",
    )
    assert mail.reason is not None and "no readable text part" in mail.reason
    assert mail.raw is not None and b"never starts the boundary" in mail.raw
    assert desk.messages() == []


def test_a_mail_delivered_twice_is_taken_once(desk: Desk) -> None:
    raw = plain("where is my order?")
    desk.send(raw)
    assert "250 2.0.0 duplicate" in desk.send(raw)
    assert len(desk.messages()) == 1
    assert desk.answer() == 1


def test_a_mail_loop_is_stopped_by_the_reply_limit(open_desk: Callable[..., Desk]) -> None:
    """An auto-responder that ignores Auto-Submitted answers each of our answers at once: the
    per-address limit holds the bot's replies past it, so the loop ends."""
    desk = open_desk(reply_limit_per_hour=3)
    robot = "robot@loop.example"
    desk.send(plain("where is my order?", sender=robot), robot)
    answered = 0
    for _ in range(10):  # the robot answers every mail it gets, for as long as it gets one
        desk.answer()
        if len(desk.relay.received) == answered:
            break
        answered = len(desk.relay.received)
        last = desk.relay.received[-1]
        echo = plain(
            "where is my order?",
            subject=str(last["Subject"]),
            sender=robot,
            In_Reply_To=str(last["Message-ID"]),
        )
        desk.send(echo, robot)
    assert len(desk.relay.received) == 3
    statuses = [row.status for row in desk.mail.outbox_rows(robot)]
    assert statuses == ["sent", "sent", "sent", "held"]
    held = desk.mail.outbox_rows(robot)[-1]
    assert held.last_error == "reply limit: 3 per hour to this address"


SEND_ONCE = """
from frontdesk.channels.email.sender import OutboxSender
from frontdesk.config import load_settings
from frontdesk.store.database import create_store_engine
from frontdesk.store.email import EmailStore

settings = load_settings()
OutboxSender(EmailStore(create_store_engine(settings.store_url)), settings.email).drain_once()
"""


def test_a_crash_between_sending_and_marking_sends_once_by_message_id(
    desk: Desk, clock: MovedClock
) -> None:
    """A sender process is SIGKILLed the moment the relay has its email, before it can mark
    it sent. The next sender, once the lease has passed, hands it over again with the same
    Message-ID: the mailbox keeps one copy; the row ends sent."""
    desk.send(plain("where is my order?"))
    while desk.worker.run_once():
        pass
    settings = desk.services.settings
    env = {
        **os.environ,
        "FRONTDESK_DATA_DIR": str(settings.data_dir),
        "FRONTDESK_STORE__URL": settings.store_url,
        "FRONTDESK_EMAIL__ADDRESS": SUPPORT,
        "FRONTDESK_EMAIL__RELAY_HOST": "127.0.0.1",
        "FRONTDESK_EMAIL__RELAY_PORT": str(desk.relay.port),
        "FRONTDESK_EMAIL__RELAY_STARTTLS": "false",
    }
    process = subprocess.Popen([sys.executable, "-c", SEND_ONCE], env=env)
    desk.relay.on_message = lambda _message: os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=120) == -signal.SIGKILL
    [first] = desk.relay.wait_for(1)
    [row] = desk.mail.outbox_rows()
    assert (row.status, row.attempts, row.message_id_header) == (
        "sending",
        1,
        first["Message-ID"],
    )
    desk.relay.on_message = None
    assert desk.sender.drain_once() == 0  # its lease still holds: the dead sender may be slow
    clock.advance(timedelta(seconds=desk.options.sending_lease_seconds + 60))
    assert desk.sender.drain_once() == 1
    copies = desk.relay.wait_for(2)
    assert {str(copy["Message-ID"]) for copy in copies} == {row.message_id_header}
    [row] = desk.mail.outbox_rows()
    assert (row.status, row.attempts) == ("sent", 2)
    assert desk.sender.drain_once() == 0
    assert len(desk.relay.received) == 2


def test_a_30_mb_mail_is_stored_with_the_reason(open_desk: Callable[..., Desk]) -> None:
    """The issue's case at the default limits (25 MiB taken as a message, 64 MiB at all)."""
    desk = open_desk()
    message = EmailMessage()
    message["From"] = "big@example.org"
    message["To"] = SUPPORT
    message["Subject"] = "The whole catalogue"
    message["Message-ID"] = make_msgid(domain="example.org")
    message.set_content("Here is everything we scanned.")
    scan = bytes(range(256)) * (22 * 2**20 // 256)
    message.add_attachment(scan, maintype="application", subtype="pdf", filename="scan.pdf")
    raw = message.as_bytes()
    assert len(raw) > 30_000_000
    assert "250 2.0.0 rejected" in desk.send(raw, "big@example.org")
    [mail] = desk.mail.mails()
    assert mail.kind == "rejected" and mail.reason is not None
    assert mail.reason.startswith(f"oversized: {mail.size} bytes")
    assert mail.subject == "The whole catalogue" and mail.sender == "big@example.org"
    assert mail.raw is not None and mail.size >= len(raw)
    assert desk.messages() == []


def test_a_mail_over_the_receivers_limit_is_refused_in_smtp(open_desk: Callable[..., Desk]) -> None:
    """Past `smtp_max_bytes` the receiver answers 552: the sending server tells the sender,
    nothing is half-stored."""
    desk = open_desk(smtp_max_bytes=2**20)
    dialogue = desk.send(plain("x" * (2 * 2**20)), accepted=False)
    assert "552" in dialogue
    assert desk.mail.mails() == []


def test_a_persons_reply_goes_out_by_email_without_auto_submitted(
    open_desk: Callable[..., Desk],
) -> None:
    desk = open_desk(reply_limit_per_hour=1)
    raw = plain("I want to talk to a real person please", subject="Complaint")
    desk.send(raw)
    assert desk.answer() == 0  # handed to a person: nothing is sent by the bot
    [handoff] = desk.services.store.list_handoffs()
    desk.services.store.reply_to_handoff(handoff.id, "alice", "Hi, Alice here.")
    assert desk.sender.drain_once() == 1
    [reply] = desk.relay.wait_for(1)
    assert reply["Auto-Submitted"] is None
    assert reply["In-Reply-To"] == read_message_id(raw)
    assert reply.get_body(("plain",)).get_content().strip() == "Hi, Alice here."


def test_chat_replies_queue_no_email(desk: Desk) -> None:
    accepted = desk.services.intake.accept("where is my order?", "web")
    assert desk.answer() == 0
    assert desk.services.store.conversation(accepted.message.conversation_id).replies
    assert desk.mail.outbox_rows() == []


def test_a_relay_that_is_down_is_tried_again_later(desk: Desk, clock: MovedClock) -> None:
    desk.send(plain("where is my order?"))
    while desk.worker.run_once():
        pass
    unreachable = desk.options.model_copy(update={"relay_port": free_port()})
    assert OutboxSender(desk.mail, unreachable).drain_once() == 1
    [row] = desk.mail.outbox_rows()
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error is not None and "ConnectionRefusedError" in row.last_error
    assert desk.sender.drain_once() == 0  # not before its retry time
    clock.advance(timedelta(seconds=31))
    assert desk.sender.drain_once() == 1
    [row] = desk.mail.outbox_rows()
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(desk.relay.wait_for(1)) == 1


def test_a_refused_recipient_fails_at_once(desk: Desk) -> None:
    desk.relay.refused.add("gone@example.org")
    desk.send(plain("where is my order?", sender="gone@example.org"), "gone@example.org")
    assert desk.answer() == 1
    [row] = desk.mail.outbox_rows()
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error is not None and "550" in row.last_error
    assert desk.sender.drain_once() == 0
    assert desk.relay.received == []

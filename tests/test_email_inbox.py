"""Issue 17, point 6: an email conversation in the staff inbox shows its channel, each mail with
the quoted history the agents did not read collapsed, and its attachments listed."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from fastapi.testclient import TestClient

from conftest import sign_in
from email_peers import free_port, swaks
from frontdesk.channels.email.settings import EmailSettings
from frontdesk.config import load_settings
from frontdesk.server import create_app

QUOTED = "> On Monday the shop wrote:\n> Your parcel left our warehouse."


def test_an_email_conversation_shows_its_mail_in_the_inbox(data_dir: Path) -> None:
    port = free_port()
    settings = load_settings(data_dir=data_dir, worker={"enabled": False})
    email = EmailSettings(address="support@harbor.example", smtp_listen=f"127.0.0.1:{port}")
    mail = EmailMessage()
    mail["From"] = "Ann <ann@example.org>"
    mail["To"] = "support@harbor.example"
    mail["Subject"] = "Broken kettle"
    mail["Message-ID"] = make_msgid(domain="example.org")
    mail.set_content(f"I want to talk to a real person about my kettle, please.\n\n{QUOTED}\n")
    mail.add_attachment(
        b"\xff\xd8\xff" * 10, maintype="image", subtype="jpeg", filename="kettle.jpg"
    )
    with TestClient(create_app(settings.model_copy(update={"email": email}))) as client:
        swaks(port, mail.as_bytes(), "ann@example.org")
        services = client.app.state.services  # type: ignore[attr-defined]
        worker = services.worker("test")
        while worker.run_once():
            pass
        [handoff] = services.store.list_handoffs()
        [message] = services.store.conversation(handoff.conversation_id).messages
        assert "Your parcel left" not in message.text  # the agents read the new words only
        sign_in(client)
        page = client.get(f"/inbox/handoffs/{handoff.id}").text
    head = page.split('class="conversation-head"')[1].split("</section>")[0]
    assert "ann@example.org" in head and "· email" in head
    received = page.split('id="mail"')[1].split("</section>")[0]
    assert "Broken kettle" in received
    history = received.split("<details>")[1].split("</details>")[0]
    assert "with the quoted history" in history and "Your parcel left our warehouse." in history
    assert "kettle.jpg" in received and "image/jpeg, 30 bytes" in received


def test_rejected_and_automatic_mail_is_shown_to_staff(data_dir: Path) -> None:
    port = free_port()
    settings = load_settings(data_dir=data_dir, worker={"enabled": False})
    email = EmailSettings(
        address="support@harbor.example", smtp_listen=f"127.0.0.1:{port}", max_message_bytes=4096
    )
    big = EmailMessage()
    big["From"] = "bob@example.org"
    big["To"] = "support@harbor.example"
    big["Subject"] = "Photos of the damage"
    big["Message-ID"] = make_msgid(domain="example.org")
    big.set_content("see attached\n" + "x" * 8000)
    away = EmailMessage()
    away["From"] = "carol@example.org"
    away["To"] = "support@harbor.example"
    away["Subject"] = "Out of office"
    away["Auto-Submitted"] = "auto-replied"
    away["Message-ID"] = make_msgid(domain="example.org")
    away.set_content("I am away until Monday.")
    with TestClient(create_app(settings.model_copy(update={"email": email}))) as client:
        swaks(port, big.as_bytes(), "bob@example.org")
        swaks(port, away.as_bytes(), "carol@example.org")
        assert client.get("/inbox/mail", follow_redirects=False).status_code in (302, 303)
        sign_in(client)
        page = client.get("/inbox/mail").text
        rejected = client.get("/inbox/mail?kind=rejected").text
    table = page.split('id="mail"')[1].split("</table>")[0]
    assert "Photos of the damage" in table and "bob@example.org" in table
    assert "Out of office" in table and "automatic" in table
    only = rejected.split('id="mail"')[1].split("</table>")[0]
    assert "Photos of the damage" in only and "Out of office" not in only

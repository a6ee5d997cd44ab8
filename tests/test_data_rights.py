"""Issue 19, point 8: a customer's data exported and erased on request, and erased past the
retention period, on SQLite and on PostgreSQL; the decisions stay for audit, without any text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text
from typer.testing import CliRunner

from conftest import MovedClock
from frontdesk.cli.main import app
from frontdesk.clock import utcnow
from frontdesk.config import Settings, get_settings
from frontdesk.runtime.services import Services
from frontdesk.store.staff import StaffUser, add_user
from frontdesk.store.tables import (
    AuditRow,
    ConversationRow,
    EmailAttachmentRow,
    EmailMessageRow,
)
from realtime_chat import Chat, find, orders_of

runner = CliRunner()
SAM = StaffUser("sam", "specialist")
HER_LINE = "I'd like to talk to a person about a present for my aunt Winifred"


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def everything_stored(services: Services) -> str:
    """Every value of every table, as one text to search."""
    engine = services.store.engine
    parts: list[str] = []
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            if table.startswith(("shop_", "kb_", "alembic")):
                continue  # the shop's own records and the articles are not conversation data
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                parts.append(" ".join(str(value) for value in row))
    return "\n".join(parts)


def her_conversations(services: Services) -> tuple[Chat, Chat, Chat, str]:
    """One chat where she identifies by email, one where she asks for a person and a specialist
    answers her, and another customer's chat that must stay as it is."""
    customer, _ = find("delivered")
    orders = Chat(services)
    orders.say("has my package shipped yet?")
    orders.say(f"my email is {customer.email}")
    person = Chat(services)
    person.say(f"{HER_LINE}, you can write to {customer.email}", expect_auto=False)
    add_user(services.store, SAM.username, "correct horse battery", SAM.role)
    [handoff] = services.store.conversation(person.conversation or "").handoffs
    services.handoffs.reply(SAM, handoff.id, "Happy to help with the present for Winifred!")
    other, _ = find("pending")
    stranger = Chat(services)
    stranger.say("where is my order?")
    stranger.say(f"my email is {other.email}")
    return orders, person, stranger, customer.email


def test_export_then_erase_a_customer(
    services: Services, backend_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    orders, person, stranger, email = her_conversations(services)
    stranger_before = services.store.conversation(stranger.conversation or "")
    for key, value in _environment(backend_settings).items():
        monkeypatch.setenv(key, value)

    out = tmp_path / "export.json"
    exported = runner.invoke(app, ["customers", "export", email, "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    document = json.loads(out.read_text())
    assert {c["id"] for c in document["conversations"]} == {
        orders.conversation,
        person.conversation,
    }
    texts = json.dumps(document)
    assert HER_LINE in texts and "Winifred!" in texts
    authors = {r["author"] for c in document["conversations"] for r in c["replies"]}
    assert authors == {"bot", "agent:support"}  # no staff sign-in names
    assert all(c["routing"] for c in document["conversations"])

    decisions_before = _count(services, "decisions")
    erased = runner.invoke(app, ["customers", "erase", email, "--yes"])
    assert erased.exit_code == 0, erased.output
    assert "erased 2 conversations" in erased.output

    stored = everything_stored(services)
    customer, _ = find("delivered")
    her_orders = [order.order_id for order in orders_of(customer)]
    for trace in (email, HER_LINE, "Winifred", "has my package shipped", *her_orders):
        assert trace not in stored, trace
    # The decisions stay, for audit and the figures: intent, tier, times.
    assert _count(services, "decisions") == decisions_before
    view = services.store.conversation(person.conversation or "")
    assert [d.decision.tier for d in view.decisions] == ["human"]
    assert view.handoffs[0].status == "resolved" and view.handoffs[0].handle_seconds is not None
    with services.store.session() as session:
        audit = session.scalars(select(AuditRow).where(AuditRow.action == "customer.erased")).one()
        assert audit.data["conversations"] == 2 and email not in json.dumps(audit.data)
    # Another customer's conversation is as it was.
    assert services.store.conversation(stranger_before.id) == stranger_before
    # Erasing again finds nothing left to erase.
    again = runner.invoke(app, ["customers", "erase", email, "--yes"])
    assert again.exit_code == 0 and "nothing stored" in again.output


def test_retention_erases_idle_conversations(services: Services, clock: MovedClock) -> None:
    orders, person, _, email = her_conversations(services)
    services.settings = services.settings.model_copy(
        update={"store": services.settings.store.model_copy(update={"retention_days": 30})}
    )
    clock.advance(timedelta(days=20))
    recent = Chat(services)
    recent.say("do you sell gift cards?", expect_auto=False)
    worker = services.worker("retention")
    clock.advance(timedelta(days=11))
    worker.run_once()
    with services.store.session() as session:
        erased = dict(session.execute(select(ConversationRow.id, ConversationRow.erased_at)).all())
    assert erased[orders.conversation] is not None and erased[person.conversation] is not None
    assert erased[recent.conversation] is None
    assert email not in everything_stored(services)
    assert services.store.conversation(recent.conversation or "").messages[0].text


def test_bad_input_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(tmp_path / "data"))
    assert runner.invoke(app, ["customers", "export", "not-an-address"]).exit_code == 2
    assert runner.invoke(app, ["customers", "purge"]).exit_code == 2
    assert runner.invoke(app, ["customers", "purge", "--older-than", "0"]).exit_code == 2


def _count(services: Services, table: str) -> int:
    with services.store.engine.connect() as connection:
        return int(connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


def _environment(settings: Settings) -> dict[str, str]:
    environment = {"FRONTDESK_DATA_DIR": str(settings.data_dir)}
    if settings.store.url:
        environment["FRONTDESK_STORE__URL"] = settings.store.url
    return environment


def test_erasing_an_email_customer_empties_the_mail_received(services: Services) -> None:
    email = "winifred@example.org"
    accepted = services.store.accept_message(
        "my kettle whistles off key", "email", customer_ref=email
    )
    now = utcnow()
    with services.store.session() as session:
        for key, conversation, kind in (
            ("<a1@example.org>", accepted.message.conversation_id, "message"),
            ("<a2@example.org>", None, "rejected"),  # too large: joined no conversation
        ):
            mail = EmailMessageRow(
                id=key[2:4] + "0" * 30, key=key, kind=kind, conversation_id=conversation,
                message_id=accepted.message.id if conversation else None, sender=email,
                subject="Kettle", text="my kettle whistles off key", size=120,
                raw=b"From: winifred@example.org\r\n\r\nmy kettle whistles off key",
                message_id_header=key, received_at=now,
            )  # fmt: skip
            session.add(mail)
            session.flush()
            session.add(
                EmailAttachmentRow(
                    id=key[2:4] + "1" * 30,
                    email_id=mail.id,
                    name="kettle.jpg",
                    content_type="image/jpeg",
                    size=3,
                    content=b"\xff\xd8\xff",
                )
            )
    erased = services.store.erase(services.store.conversations_of(email), email, actor="test")
    assert (erased.conversations, erased.mails) == (1, 2)
    stored = everything_stored(services)
    for trace in (email, "kettle whistles", "kettle.jpg", "Kettle"):
        assert trace not in stored, trace
    with services.store.session() as session:
        keys = set(session.scalars(select(EmailMessageRow.key)))
    assert keys >= {"<a1@example.org>", "<a2@example.org>"}  # a mail delivered again is known

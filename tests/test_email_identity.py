"""Issue 17, point 3: an email's From header is easy to forge, so what a conversation learns of an
account goes only to the address on that account, never to whoever wrote."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from frontdesk.config import load_settings
from frontdesk.runtime.services import Services, build_services
from frontdesk.store.email import EmailStore
from realtime_chat import find, orders_of


@pytest.fixture
def services(data_dir: Path) -> Iterator[Services]:
    built = build_services(load_settings(data_dir=data_dir))
    yield built
    built.close()


def answer(services: Services, text: str, sender: str, conversation: str | None = None) -> str:
    accepted = services.intake.accept(text, "email", conversation, customer_ref=sender)
    worker = services.worker("test")
    while worker.run_once():
        pass
    return accepted.message.conversation_id


def test_account_data_asked_for_by_email_goes_to_the_accounts_address(services: Services) -> None:
    victim, _ = find("delivered")
    conversation = answer(services, "has my package shipped yet?", "mallory@example.net")
    answer(services, f"my email is {victim.email}", "mallory@example.net", conversation)
    rows = EmailStore(services.store.engine).outbox_rows()
    asked, identified = [row for row in rows if row.conversation_id == conversation]
    assert asked.recipient == "mallory@example.net"  # nothing known of an account yet
    assert identified.recipient == victim.email  # the orders go to the account, not the writer
    assert any(order.order_id in identified.body for order in orders_of(victim))
    assert all(
        row.recipient != "mallory@example.net" or victim.email not in row.body for row in rows
    )


def test_a_customer_writing_from_the_accounts_address_gets_the_answers(services: Services) -> None:
    customer, _ = find("delivered")
    conversation = answer(services, "has my package shipped yet?", customer.email)
    answer(services, f"my email is {customer.email}", customer.email, conversation)
    rows = EmailStore(services.store.engine).outbox_rows()
    assert {row.recipient for row in rows if row.conversation_id == conversation} == {
        customer.email
    }

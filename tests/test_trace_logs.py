"""One message, one trace: every log line of a message's way names it and its conversation, and
no customer text or personal data reaches the logs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from frontdesk.config import load_settings
from frontdesk.observability.logging import configure_logging
from frontdesk.runtime.services import Services, build_services
from realtime_chat import Chat, find


@pytest.fixture
def services(data_dir: Path) -> Iterator[Services]:
    built = build_services(load_settings(data_dir=data_dir))
    yield built
    built.close()


def test_a_conversation_logs_its_ids_and_no_customer_data(
    services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    customer, order = find("processed")
    address = customer.address
    street = f"{address.address1}, {address.city} {address.zip}"
    phone = "+1 415 555 0199"
    said = [
        "where is my order? it has been a while",
        f"my email is {customer.email}",
        f"it's {order.order_id}, and you can reach me on {phone}",
        f"please send the replacement to {street}",
        f"my name is {customer.name.first_name} {customer.name.last_name} and I am unhappy",
    ]
    capsys.readouterr()
    configure_logging("DEBUG")
    try:
        chat = Chat(services)
        for text in said:
            chat.say(text, expect_auto=False)
    finally:
        structlog.reset_defaults()
    logged = capsys.readouterr().err
    lines = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    assert lines, "the conversation was logged"

    view = services.store.conversation(chat.conversation or "")
    assert len(view.messages) == len(said)
    for message in view.messages:
        own = [line for line in lines if line.get("message_id") == message.id]
        events = {line["event"] for line in own}
        assert {"message.accepted", "message.decided"} <= events, events
        assert all(line.get("conversation_id") == chat.conversation for line in own)
    tool_lines = [line for line in lines if "message_id" not in line and "message_ids" not in line]
    assert not [line for line in tool_lines if line["event"].startswith(("tool", "llm"))]

    for secret in [customer.email, phone, address.address1, address.zip, *said]:
        assert secret not in logged, f"{secret!r} reached the logs"
    assert customer.email.split("@")[0] not in logged
    assert f"{customer.name.first_name} {customer.name.last_name}" not in logged
    assert "555 0199" not in logged and "5550199" not in logged

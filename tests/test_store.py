"""Store behaviour, the same on SQLite and PostgreSQL (with the matching queue)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from conftest import MovedClock
from frontdesk.agents.intent import IntentAgent
from frontdesk.handoffs.errors import HandoffClosed, UnknownHandoff
from frontdesk.runtime.services import Services
from frontdesk.store.errors import IdempotencyConflict, UnknownConversation
from frontdesk.store.tables import AuditRow, MessageRow


def count_rows(services: Services, table: type) -> int:
    with services.store.session() as session:
        return session.scalar(select(func.count()).select_from(table))


def test_accepting_stores_and_enqueues(services: Services) -> None:
    accepted = services.intake.accept("where is my order?", "api")
    assert accepted.created
    view = services.store.conversation(accepted.message.conversation_id)
    assert [(m.text, m.state) for m in view.messages] == [("where is my order?", "enqueued")]
    assert services.queue.depth() == 1


def test_same_idempotency_key_stores_once(services: Services) -> None:
    first = services.intake.accept("cancel my order", "api", idempotency_key="k-1")
    second = services.intake.accept("cancel my order", "api", idempotency_key="k-1")
    assert not second.created
    assert second.message.id == first.message.id
    assert count_rows(services, MessageRow) == 1
    assert services.queue.depth() == 1


def test_reused_idempotency_key_for_other_text_is_refused(services: Services) -> None:
    """Within a conversation a key names one message; a new conversation's key is scoped by its
    text (docs/security.md), so the same key with another text there is another customer's."""
    first = services.intake.accept("cancel my order", "api", idempotency_key="k-2")
    conversation = first.message.conversation_id
    services.intake.accept("and my other one", "api", conversation, idempotency_key="k-3")
    with pytest.raises(IdempotencyConflict):
        services.intake.accept("return my order", "api", conversation, idempotency_key="k-3")
    assert count_rows(services, MessageRow) == 2
    other = services.intake.accept("return my order", "api", idempotency_key="k-2")
    assert other.message.conversation_id != conversation
    assert count_rows(services, MessageRow) == 3


def test_unknown_conversation_is_refused_and_nothing_stored(services: Services) -> None:
    with pytest.raises(UnknownConversation):
        services.intake.accept("hello", "api", conversation_id="0" * 32)
    assert count_rows(services, MessageRow) == 0
    assert count_rows(services, AuditRow) == 0


def test_processing_stores_one_decision_and_one_answer(services: Services) -> None:
    accepted = services.intake.accept("how long does a refund take?", "api")
    worker = services.worker("test")
    assert worker.run_once() == 1
    view = services.store.conversation(accepted.message.conversation_id)
    [decision] = view.decisions
    assert decision.intent.model_version
    assert set(decision.latency_ms) >= {"intent", "response", "coordinator", "queue_wait"}
    assert len(view.replies) + len(view.handoffs) == 1
    assert view.messages[0].state == "processed"
    # A redelivery of the same message changes nothing.
    services.queue.enqueue([accepted.message.id])
    assert worker.run_once() == 1
    again = services.store.conversation(accepted.message.conversation_id)
    assert len(again.decisions) == 1
    assert len(again.replies) + len(again.handoffs) == 1


def test_handoff_reply_resolves_once(services: Services) -> None:
    accepted = services.intake.accept("I want to talk to a real person please", "api")
    services.worker("test").run_once()
    [handoff] = services.store.list_handoffs()
    assert handoff.message_id == accepted.message.id
    assert handoff.packet.transcript[0].text == "I want to talk to a real person please"
    assert services.store.conversation(accepted.message.conversation_id).status == (
        "waiting_for_person"
    )
    reply = services.store.reply_to_handoff(handoff.id, "alice", "Hi, Alice here.")
    assert reply.author == "agent:alice"
    with pytest.raises(HandoffClosed):
        services.store.reply_to_handoff(handoff.id, "bob", "Me too")
    with pytest.raises(UnknownHandoff):
        services.store.reply_to_handoff("f" * 32, "bob", "Hello")
    view = services.store.conversation(accepted.message.conversation_id)
    assert view.status == "open"
    assert [r.text for r in view.replies] == ["Hi, Alice here."]
    assert services.store.list_handoffs() == []


def test_stranded_message_is_requeued(services: Services) -> None:
    accepted = services.store.accept_message("where is my parcel", "api")  # never enqueued
    worker = services.worker("test")
    worker.stranded_after = timedelta(0)
    worker.requeue_stranded()
    assert worker.run_once() == 1
    view = services.store.conversation(accepted.message.conversation_id)
    assert view.messages[0].state == "processed"


def test_queue_wait_is_received_until_claimed_not_the_stages_after(
    services: Services, clock: MovedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The intent stage "takes" 3 s on a clock the test moves: the message waited 5 s for a
    worker, and that is all `queue_wait` counts."""
    accepted = services.intake.accept("how long does a refund take?", "api")
    clock.advance(timedelta(seconds=5))
    classify = IntentAgent.classify

    def slow_classify(self: IntentAgent, messages: list) -> list:
        clock.advance(timedelta(seconds=3))
        return classify(self, messages)

    monkeypatch.setattr(IntentAgent, "classify", slow_classify)
    assert services.worker("test").run_once() == 1
    [decision] = services.store.conversation(accepted.message.conversation_id).decisions
    assert decision.latency_ms["queue_wait"] == 5000.0

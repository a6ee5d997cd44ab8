"""The handoff service: every staff action's permissions and checks, as the API and the inbox
both get them (one transaction per action, nothing written when refused)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from frontdesk.config import load_settings
from frontdesk.contracts import Handoff
from frontdesk.handoffs.errors import (
    AlreadySpecialist,
    ClaimedByOther,
    HandoffClosed,
    InvalidHandoffAction,
    NotForYourRole,
    UnknownHandoff,
)
from frontdesk.handoffs.service import HandoffService
from frontdesk.runtime.services import Services, build_services
from frontdesk.store.staff import StaffUser, add_user
from frontdesk.store.tables import HandoffRow

ALICE = StaffUser("alice", "agent")
BOB = StaffUser("bob", "agent")
SAM = StaffUser("sam", "specialist")
ADA = StaffUser("ada", "admin")


@pytest.fixture
def services(data_dir: Path) -> Iterator[Services]:
    built = build_services(load_settings(data_dir=data_dir, knowledge={"dense": "off"}))
    for user in (ALICE, BOB, SAM, ADA):
        add_user(built.store, user.username, "correct horse battery", user.role)
    yield built
    built.close()


def handed_off(services: Services, text: str = "I want to talk to a real person please") -> Handoff:
    services.intake.accept(text, "api")
    services.worker("test").run_once(0)
    [handoff] = services.store.list_handoffs()
    return handoff


def test_a_reply_takes_the_handoff_and_resolves_it_in_one_action(services: Services) -> None:
    handoff = handed_off(services)
    handoffs = services.handoffs
    reply = handoffs.reply(ALICE, handoff.id, "  Hi, Alice here.  ")
    assert (reply.author, reply.text) == ("agent:alice", "Hi, Alice here.")
    resolved = services.store.get_handoff(handoff.id)
    assert (resolved.status, resolved.assignee, resolved.resolved_by) == (
        "resolved",
        "alice",
        "alice",
    )
    assert resolved.handle_seconds is not None and resolved.handle_seconds >= 0
    with pytest.raises(HandoffClosed):
        handoffs.reply(BOB, handoff.id, "Me too")


def test_someone_elses_handoff_is_refused_and_left_alone(services: Services) -> None:
    handoff = handed_off(services)
    handoffs = services.handoffs
    handoffs.claim(ALICE, handoff.id)
    with pytest.raises(ClaimedByOther, match="alice is working on this one"):
        handoffs.reply(BOB, handoff.id, "Let me help")
    with pytest.raises(ClaimedByOther):
        handoffs.escalate(BOB, handoff.id)
    assert services.store.get_handoff(handoff.id).status == "open"
    assert services.store.conversation(handoff.conversation_id).replies == []


@pytest.mark.parametrize(
    ("text", "outcome", "correct_intent", "reason"),
    [
        ("   ", None, None, "Write an answer"),
        ("Sorted.", "wrong_intent", None, "Choose the right intent"),
        ("Sorted.", None, "track_order", "Choose the right intent"),
        ("Sorted.", "wrong_intent", "teleport_parcel", "not an intent the bot knows"),
    ],
)
def test_a_reply_the_service_cannot_take(
    services: Services, text: str, outcome: str | None, correct_intent: str | None, reason: str
) -> None:
    handoff = handed_off(services)
    with pytest.raises(InvalidHandoffAction, match=reason):
        services.handoffs.reply(ALICE, handoff.id, text, outcome, correct_intent)  # type: ignore[arg-type]
    assert services.store.get_handoff(handoff.id).status == "open"


def test_a_correction_names_an_intent_the_model_knows(services: Services) -> None:
    handoff = handed_off(services)
    services.handoffs.reply(ALICE, handoff.id, "Here you go", "wrong_intent", "track_order")
    resolved = services.store.get_handoff(handoff.id)
    assert (resolved.outcome, resolved.correct_intent) == ("wrong_intent", "track_order")


def test_agents_work_the_human_tier_and_specialists_both(services: Services) -> None:
    handoff = handed_off(services)
    handoffs = services.handoffs
    handoffs.escalate(ALICE, handoff.id, "needs a senior")
    with pytest.raises(AlreadySpecialist):
        handoffs.escalate(SAM, handoff.id)
    with pytest.raises(NotForYourRole):
        handoffs.claim(ALICE, handoff.id)
    assert handoffs.workable(ALICE) == []
    assert [h.id for h in handoffs.workable(SAM)] == [handoff.id]
    with pytest.raises(InvalidHandoffAction, match="bob cannot work this conversation"):
        handoffs.assign(SAM, handoff.id, "bob")
    assert handoffs.assign(SAM, handoff.id, "ada").assignee == "ada"
    with pytest.raises(ClaimedByOther):
        handoffs.assign(SAM, handoff.id, None)
    assert handoffs.assign(ADA, handoff.id, None).assignee is None  # an admin may take it back


def test_handing_back_sends_the_draft_as_the_bot(services: Services) -> None:
    handoff = handed_off(services)
    assert handoff.packet.draft is not None and handoff.packet.draft.text.strip()
    reply = services.handoffs.hand_back(ALICE, handoff.id)
    assert (reply.author, reply.text) == ("bot", handoff.packet.draft.text)
    assert services.store.get_handoff(handoff.id).outcome == "handed_back"


def test_handing_back_needs_a_draft(services: Services) -> None:
    handoff = handed_off(services)
    with services.store.session() as session:
        row = session.get(HandoffRow, handoff.id)
        assert row is not None
        row.packet = {**row.packet, "draft": None}
    with pytest.raises(InvalidHandoffAction, match="no bot draft"):
        services.handoffs.hand_back(ALICE, handoff.id)
    assert services.store.get_handoff(handoff.id).status == "open"


def test_an_unknown_handoff(services: Services) -> None:
    service = HandoffService(services.store, lambda: ["track_order"])
    with pytest.raises(UnknownHandoff):
        service.claim(ALICE, "f" * 32)

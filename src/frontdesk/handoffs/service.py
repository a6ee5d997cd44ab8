"""Every staff action on a handoff, with its permissions and checks, in one place.

The HTTP API and the inbox pages both call this; each action is one store transaction, and a
refusal is a `HandoffError` that the edge turns into a status code or a notice on the page.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Literal

from frontdesk.contracts import Handoff, OutboundReply, Outcome
from frontdesk.handoffs.errors import InvalidHandoffAction, NotForYourRole
from frontdesk.store.repository import Store
from frontdesk.store.staff import StaffUser, find_user

HandoffStatus = Literal["open", "resolved"]


@dataclass(frozen=True)
class HandoffService:
    store: Store
    known_intents: Callable[[], Collection[str]]

    def workable(
        self, staff: StaffUser, tier: str | None = None, status: HandoffStatus = "open"
    ) -> list[Handoff]:
        """The handoffs this person may work, oldest first."""
        handoffs = self.store.list_handoffs(tier=tier, status=status)
        return [handoff for handoff in handoffs if staff.may_work(handoff.tier)]

    def get(self, staff: StaffUser, handoff_id: str) -> Handoff:
        handoff = self.store.get_handoff(handoff_id)
        if not staff.may_work(handoff.tier):
            raise NotForYourRole
        return handoff

    def claim(self, staff: StaffUser, handoff_id: str) -> Handoff:
        """Take a handoff; two people never work one conversation."""
        self.get(staff, handoff_id)
        return self.store.claim_handoff(handoff_id, staff.username)

    def assign(self, staff: StaffUser, handoff_id: str, assignee: str | None) -> Handoff:
        """Give it to a colleague who may work its tier, or back to the queue (None). Its
        holder may; an admin may take it from anyone."""
        handoff = self.get(staff, handoff_id)
        if assignee is not None:
            colleague = find_user(self.store, assignee)
            if colleague is None or not colleague.may_work(handoff.tier):
                raise InvalidHandoffAction(f"{assignee} cannot work this conversation")
        return self.store.assign_handoff(
            handoff_id, staff.username, assignee, override=staff.role == "admin"
        )

    def reply(
        self,
        staff: StaffUser,
        handoff_id: str,
        text: str,
        outcome: Outcome | None = None,
        correct_intent: str | None = None,
    ) -> OutboundReply:
        """A person answers the customer; the handoff is theirs and resolved with its outcome."""
        self.get(staff, handoff_id)
        answer = text.strip()
        if not answer:
            raise InvalidHandoffAction("Write an answer before sending")
        correction = (correct_intent or "").strip() or None
        if (outcome == "wrong_intent") != (correction is not None):
            raise InvalidHandoffAction(
                "Choose the right intent when the bot misread it, and only then"
            )
        if correction is not None and correction not in self.known_intents():
            raise InvalidHandoffAction(f"{correction!r} is not an intent the bot knows")
        return self.store.reply_to_handoff(handoff_id, staff.username, answer, outcome, correction)

    def hand_back(self, staff: StaffUser, handoff_id: str) -> OutboundReply:
        """The bot's draft was right after all: send it as the bot's answer."""
        handoff = self.get(staff, handoff_id)
        draft = handoff.packet.draft.text if handoff.packet.draft else ""
        if not draft.strip():
            raise InvalidHandoffAction("There is no bot draft to hand back; write an answer")
        return self.store.reply_to_handoff(handoff_id, staff.username, draft, "handed_back")

    def escalate(self, staff: StaffUser, handoff_id: str, note: str = "") -> Handoff:
        """Pass an open handoff on to the senior specialists."""
        self.get(staff, handoff_id)
        return self.store.escalate_handoff(handoff_id, staff.username, note.strip())

"""Handoffs in the database: who holds one, a person's answer, passing it to the specialists.

Each method is one transaction and decides with a locked row or a conditional update, so two
people never both win. Permissions and input checks live in frontdesk.handoffs.service.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from frontdesk.clock import utcnow
from frontdesk.contracts import DraftReply, Handoff, OutboundReply, Outcome
from frontdesk.handoffs.errors import (
    AlreadySpecialist,
    ClaimedByOther,
    HandoffClosed,
    UnknownHandoff,
)
from frontdesk.store import rows
from frontdesk.store.base import BOT_AUTHOR, StoreBase, add_reply, audit, changed_rows
from frontdesk.store.tables import ConversationRow, DecisionRow, HandoffRow, MessageRow, ReplyRow

EDITED_SIMILARITY = 0.6
# The outcomes that judge the bot's draft: right only when sent as drafted. A handoff handed back
# to the bot is no verdict on the draft and is left out.
VERDICT_OUTCOMES: tuple[Outcome, ...] = ("sent_as_drafted", "edited", "rewritten", "wrong_intent")


@dataclass(frozen=True)
class ReplyVerdict:
    """A person's verdict on the bot's draft for one handed-off message."""

    message_id: str
    text: str
    intent: str  # predicted
    draft: DraftReply  # the decision's draft
    right: bool


def infer_outcome(draft: str, sent: str) -> Outcome:
    """How much of the bot's draft the person kept."""
    if sent.strip() == draft.strip():
        return "sent_as_drafted"
    similar = difflib.SequenceMatcher(None, draft, sent).ratio()
    return "edited" if similar >= EDITED_SIMILARITY else "rewritten"


class HandoffsStore(StoreBase):
    def list_handoffs(self, tier: str | None = None, status: str = "open") -> list[Handoff]:
        with self.session() as session:
            query = select(HandoffRow).where(HandoffRow.status == status)
            if tier is not None:
                query = query.where(HandoffRow.tier == tier)
            found = session.scalars(query.order_by(HandoffRow.created_at))
            return [rows.handoff(row) for row in found]

    def get_handoff(self, handoff_id: str) -> Handoff:
        with self.session() as session:
            row = session.get(HandoffRow, handoff_id)
            if row is None:
                raise UnknownHandoff(handoff_id)
            return rows.handoff(row)

    def reply_to_handoff(
        self,
        handoff_id: str,
        agent: str,
        text_: str,
        outcome: Outcome | None = None,
        correct_intent: str | None = None,
    ) -> OutboundReply:
        """A person answers a handed-off message: in the same transaction it is theirs (unless
        someone else holds it) and resolved with its outcome (inferred from the draft when not
        given) and the time it took, counted from the first claim or else from the handoff."""
        now = utcnow()
        with self.session() as session:
            handoff = _open_for(session, handoff_id, agent)
            handoff.assignee = agent
            handoff.status = "resolved"
            handoff.resolved_at = now
            handoff.resolved_by = agent
            draft = (handoff.packet.get("draft") or {}).get("text", "")
            handoff.outcome = outcome or infer_outcome(draft, text_)
            handoff.correct_intent = correct_intent
            started = handoff.claimed_at or handoff.created_at
            handoff.handle_seconds = round((now - started).total_seconds(), 3)
            handoff.claimed_at = handoff.claimed_at or now
            author = f"agent:{agent}" if outcome != "handed_back" else BOT_AUTHOR
            add_reply(session, handoff.conversation_id, handoff.message_id, author, text_, [], now)
            if not _has_open_handoff(session, handoff.conversation_id, except_id=handoff.id):
                session.execute(
                    update(ConversationRow)
                    .where(ConversationRow.id == handoff.conversation_id)
                    .values(status="open", updated_at=now)
                )
            session.add(
                audit(
                    author,
                    "handoff.resolved",
                    handoff.id,
                    {"outcome": handoff.outcome, "correct_intent": correct_intent},
                )
            )
            reply = session.scalar(
                select(ReplyRow).where(ReplyRow.message_id == handoff.message_id)
            )
            assert reply is not None
            return rows.reply(reply)

    def claim_handoff(self, handoff_id: str, agent: str) -> Handoff:
        """Take an open handoff; only one person ever holds it. Claiming again keeps the time
        of the first claim, which handle time counts from."""
        claimed_at = func.coalesce(HandoffRow.claimed_at, utcnow())
        return self._hold(handoff_id, agent, agent, claimed_at, "handoff.claimed")

    def assign_handoff(
        self, handoff_id: str, actor: str, assignee: str | None, *, override: bool = False
    ) -> Handoff:
        """Give an open handoff to a colleague, or back to the queue (`assignee` None). Only its
        holder may, or anyone when it is unclaimed, or a supervisor (`override`)."""
        action = "handoff.assigned" if assignee else "handoff.released"
        claimed_at = utcnow() if assignee else None
        return self._hold(handoff_id, actor, assignee, claimed_at, action, override=override)

    def _hold(
        self,
        handoff_id: str,
        actor: str,
        assignee: str | None,
        claimed_at: Any,
        action: str,
        *,
        override: bool = False,
    ) -> Handoff:
        """One conditional update decides who holds a handoff, so two people never both win."""
        with self.session() as session:
            allowed = HandoffRow.status == "open"
            if not override:
                allowed &= HandoffRow.assignee.is_(None) | (HandoffRow.assignee == actor)
            changed = changed_rows(
                session,
                update(HandoffRow)
                .where(HandoffRow.id == handoff_id, allowed)
                .values(assignee=assignee, claimed_at=claimed_at),
            )
            handoff = session.get(HandoffRow, handoff_id)
            if handoff is None:
                raise UnknownHandoff(handoff_id)
            if not changed:
                if handoff.status != "open":
                    raise HandoffClosed(handoff_id)
                raise ClaimedByOther(handoff.assignee)
            data = {} if action == "handoff.claimed" else {"assignee": assignee}
            session.add(audit(f"agent:{actor}", action, handoff_id, data))
            session.flush()
            session.refresh(handoff)
            return rows.handoff(handoff)

    def escalate_handoff(self, handoff_id: str, agent: str, note: str) -> Handoff:
        """A human agent passes an open handoff on to the specialists."""
        with self.session() as session:
            handoff = _open_for(session, handoff_id, agent)
            if handoff.tier == "specialist":
                raise AlreadySpecialist(handoff_id)
            handoff.tier = "specialist"
            handoff.assignee = None  # the specialists' queue picks it up afresh
            handoff.escalations += 1
            handoff.packet = {**handoff.packet, "tier": "specialist"}
            session.add(audit(f"agent:{agent}", "handoff.escalated", handoff.id, {"note": note}))
            session.flush()
            return rows.handoff(handoff)

    def training_rows(self, since: datetime | None = None) -> list[tuple[str, str, str, str]]:
        """(text, intent, outcome, message id) for every handoff a person resolved with a
        verdict on the intent: confirmed drafts keep the predicted intent, corrections the
        person's; rewritten answers say nothing about the intent and are left out."""
        query = (
            select(MessageRow.text, DecisionRow.intent, HandoffRow.outcome,
                   HandoffRow.correct_intent, MessageRow.id)
            .join(HandoffRow, HandoffRow.message_id == MessageRow.id)
            .join(DecisionRow, DecisionRow.message_id == MessageRow.id)
            .where(HandoffRow.status == "resolved", HandoffRow.outcome != "rewritten")
            .order_by(HandoffRow.resolved_at)
        )  # fmt: skip
        if since is not None:
            query = query.where(HandoffRow.resolved_at >= since)
        with self.session() as session:
            return [
                (text_, correct or predicted, outcome, message_id)
                for text_, predicted, outcome, correct, message_id in session.execute(query)
                # `outcome != "rewritten"` in SQL already leaves out a missing outcome.
                if outcome is not None and (outcome != "wrong_intent" or correct)
            ]

    def reply_verdicts(self, since: datetime | None = None) -> list[ReplyVerdict]:
        """The bot's draft of every handoff a person resolved with an answer, and whether they
        sent it unchanged, oldest resolution first: what a reply confidence is calibrated on."""
        query = (
            select(DecisionRow, MessageRow.text, HandoffRow.outcome)
            .join(MessageRow, MessageRow.id == DecisionRow.message_id)
            .join(HandoffRow, HandoffRow.message_id == DecisionRow.message_id)
            .where(HandoffRow.status == "resolved", HandoffRow.outcome.in_(VERDICT_OUTCOMES))
            .order_by(HandoffRow.resolved_at)
        )
        if since is not None:
            query = query.where(HandoffRow.resolved_at >= since)
        with self.session() as session:
            verdicts = []
            for row, text_, outcome in session.execute(query):
                decision = rows.decision(row)
                verdicts.append(
                    ReplyVerdict(
                        message_id=decision.message_id,
                        text=text_,
                        intent=decision.intent.label,
                        draft=decision.draft,
                        right=outcome == "sent_as_drafted",
                    )
                )
            return verdicts


def _open_for(session: Session, handoff_id: str, agent: str) -> HandoffRow:
    """The handoff, locked, if it is open and nobody but `agent` holds it."""
    handoff = session.get(HandoffRow, handoff_id, with_for_update=True)
    if handoff is None:
        raise UnknownHandoff(handoff_id)
    if handoff.status != "open":
        raise HandoffClosed(handoff_id)
    if handoff.assignee not in (None, agent):
        raise ClaimedByOther(handoff.assignee)
    return handoff


def _has_open_handoff(session: Session, conversation_id: str, except_id: str) -> bool:
    return (
        session.scalar(
            select(HandoffRow.id).where(
                HandoffRow.conversation_id == conversation_id,
                HandoffRow.status == "open",
                HandoffRow.id != except_id,
            )
        )
        is not None
    )

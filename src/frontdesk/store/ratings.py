"""Customer satisfaction: one rating per conversation (1–5), kept with the highest tier that
worked on the conversation, so satisfaction can be compared between the bot and the people."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import func, select

from frontdesk.clock import utcnow
from frontdesk.contracts import Satisfaction
from frontdesk.store.base import StoreBase, audit
from frontdesk.store.errors import UnknownConversation
from frontdesk.store.tables import ConversationRow, DecisionRow, RatingRow, ReplyRow

RatingSource = Literal["chat", "email"]
SATISFIED = 4  # a rating of 4 or 5 counts as satisfied (the usual CSAT definition)
TIER_ORDER = ("auto", "human", "specialist")


class RatingsStore(StoreBase):
    def rate(self, conversation_id: str, score: int, source: RatingSource) -> bool:
        """Record the customer's rating, replacing an earlier one; False while nothing in the
        conversation has been answered yet (there is nothing to rate)."""
        if not 1 <= score <= 5:
            raise ValueError("a rating is 1 to 5")
        with self.session() as session:
            conversation = session.get(ConversationRow, conversation_id)
            if conversation is None:
                raise UnknownConversation(conversation_id)
            answered = session.scalar(
                select(func.count()).where(ReplyRow.conversation_id == conversation_id)
            )
            if not answered:
                return False
            tiers = set(
                session.scalars(
                    select(DecisionRow.tier).where(DecisionRow.conversation_id == conversation_id)
                )
            )
            tier = max(tiers or {"auto"}, key=TIER_ORDER.index)
            row = session.get(RatingRow, conversation_id) or RatingRow(
                conversation_id=conversation_id
            )
            row.score, row.tier, row.channel = score, tier, conversation.channel
            row.source, row.rated_at = source, utcnow()
            session.add(row)
            session.add(audit("customer", "conversation.rated", conversation_id, {"tier": tier}))
            return True

    def rating(self, conversation_id: str) -> int | None:
        with self.session() as session:
            return session.scalar(
                select(RatingRow.score).where(RatingRow.conversation_id == conversation_id)
            )

    def satisfaction(self, since: datetime, until: datetime) -> dict[str, Satisfaction]:
        """CSAT of the ratings given in the window, per tier and `all`."""
        with self.session() as session:
            rows = session.execute(
                select(RatingRow.tier, RatingRow.score).where(
                    RatingRow.rated_at >= since, RatingRow.rated_at < until
                )
            ).all()
        by_tier: dict[str, list[int]] = {}
        for tier, score in rows:
            by_tier.setdefault(tier, []).append(score)
            by_tier.setdefault("all", []).append(score)
        return {tier: _satisfaction(scores) for tier, scores in by_tier.items()}


def _satisfaction(scores: list[int]) -> Satisfaction:
    return Satisfaction(
        ratings=len(scores),
        mean=round(sum(scores) / len(scores), 3),
        csat=round(sum(score >= SATISFIED for score in scores) / len(scores), 4),
    )

"""Service metrics for a time window, computed from the stored decisions and handoffs."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select

from frontdesk.contracts import ServiceMetrics, TierShare
from frontdesk.store.repository import Store
from frontdesk.store.tables import DecisionRow, HandoffRow, MessageRow

TIERS = ("auto", "human", "specialist")
REOPEN_WINDOW = timedelta(hours=72)


def service_metrics(store: Store, since: datetime, until: datetime) -> ServiceMetrics:
    with store.session() as session:
        decided = session.execute(
            select(DecisionRow.tier, DecisionRow.conversation_id).where(
                DecisionRow.created_at >= since, DecisionRow.created_at < until
            )
        ).all()
        opened = session.scalars(
            select(HandoffRow.tier).where(
                HandoffRow.created_at >= since, HandoffRow.created_at < until
            )
        ).all()
        resolved = session.execute(
            select(
                HandoffRow.conversation_id,
                HandoffRow.resolved_at,
                HandoffRow.handle_seconds,
                HandoffRow.escalations,
            ).where(HandoffRow.resolved_at >= since, HandoffRow.resolved_at < until)
        ).all()
        handed_conversations = set(
            session.scalars(
                select(HandoffRow.conversation_id).where(
                    HandoffRow.conversation_id.in_({c for _, c in decided})
                )
            )
        )
        reopened = sum(
            session.scalar(
                select(MessageRow.id)
                .where(
                    MessageRow.conversation_id == conversation,
                    MessageRow.received_at > resolved_at,
                    MessageRow.received_at <= resolved_at + REOPEN_WINDOW,
                )
                .limit(1)
            )
            is not None
            for conversation, resolved_at, _, _ in resolved
            if resolved_at is not None  # always: the window's bounds leave out open handoffs
        )
        escalated_further = sum(1 for *_, escalations in resolved if escalations)
    counts = Counter(tier for tier, _ in decided)
    total = len(decided)
    conversations = {conversation for _, conversation in decided}
    handle = [seconds for _, _, seconds, _ in resolved if seconds is not None]
    return ServiceMetrics(
        since=since,
        until=until,
        messages=total,
        tiers={
            tier: TierShare(messages=counts[tier], share=_ratio(counts[tier], total) or 0.0)
            for tier in TIERS
        },
        automatic_resolution_rate=_ratio(
            len(conversations - handed_conversations), len(conversations)
        ),
        handoffs={tier: Counter(opened)[tier] for tier in TIERS[1:]},
        resolved_handoffs=len(resolved),
        handle_seconds_median=_percentile(handle, 50),
        handle_seconds_p90=_percentile(handle, 90),
        escalated_further=escalated_further,
        reopen_rate=_ratio(reopened, len(resolved)),
    )


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _percentile(values: list[float], q: int) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None

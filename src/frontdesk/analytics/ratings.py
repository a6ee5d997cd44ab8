"""Customer satisfaction for the report: the ratings customers gave in the window (one per
conversation, 1 to 5, from the chat or an email's link; store/ratings.py), overall and per the
highest tier that worked on the conversation."""

from __future__ import annotations

from datetime import datetime

from frontdesk.analytics.model import Csat
from frontdesk.store.repository import Store


def csat_figures(store: Store, since: datetime, until: datetime) -> Csat | None:
    """The window's ratings, or None when nobody rated in it."""
    rated = store.satisfaction(since, until)
    overall = rated.pop("all", None)
    if overall is None:
        return None
    return Csat(
        ratings=overall.ratings,
        average=overall.mean,
        satisfied=overall.csat,
        per_tier={
            tier: rated[tier].mean for tier in ("auto", "human", "specialist") if tier in rated
        },
    )

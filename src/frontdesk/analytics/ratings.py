"""Customer satisfaction for the report: the place where the ratings will be read.

No ratings are stored yet (issue 18, point 3 adds a `ratings` store: a rating per conversation
after a resolved chat or from an email reply's link). Until then `csat_figures` answers None
and the page says "no ratings yet"; it invents nothing. When the store exists, read it here:
the ratings of conversations resolved in the window, their count, their average and the
average per tier, as `Csat`.
"""

from __future__ import annotations

from datetime import datetime

from frontdesk.analytics.model import Csat
from frontdesk.store.repository import Store


def csat_figures(store: Store, since: datetime, until: datetime) -> Csat | None:
    """The window's ratings, or None while no ratings are stored."""
    return None

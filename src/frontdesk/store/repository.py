"""All reads and writes of conversations, messages, decisions, replies, handoffs, audit
records, the outbox,
customers' data rights and their ratings.

One implementation serves SQLite and PostgreSQL: SQLAlchemy is the seam between the two engines.
Every write that must happen together happens in one transaction. The methods live with their
concern (intake, outcomes, handoffs, views); `Store` is all of them over one engine.
"""

from __future__ import annotations

from frontdesk.store.data_rights import DataRightsStore
from frontdesk.store.handoffs import HandoffsStore
from frontdesk.store.intake import IntakeStore
from frontdesk.store.outbox import OutboxStore
from frontdesk.store.outcomes import OutcomesStore
from frontdesk.store.ratings import RatingsStore
from frontdesk.store.views import ViewsStore


class Store(
    IntakeStore,
    OutcomesStore,
    HandoffsStore,
    ViewsStore,
    OutboxStore,
    DataRightsStore,
    RatingsStore,
):
    pass

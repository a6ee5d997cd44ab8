"""A store with known conversations, decisions, handoffs and language-model calls, for the
report's tests: a window of seven days (9 to 16 November 2026, UTC) and the week before it as
the baseline, with rows on both sides of each bound that the report must leave out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

from frontdesk.analytics.figures import Window
from frontdesk.llm.settings import TokenPrice
from frontdesk.observability.report_settings import ReportSettings
from frontdesk.store.repository import Store
from frontdesk.store.tables import (
    ConversationRow,
    DecisionRow,
    HandoffRow,
    LlmCallRow,
    MessageRow,
)

WINDOW = Window(datetime(2026, 11, 9, tzinfo=UTC), datetime(2026, 11, 16, tzinfo=UTC))
BASELINE = Window(datetime(2026, 11, 2, tzinfo=UTC), WINDOW.since)
PRICES = {
    "m-small": TokenPrice(input_per_1k=0.15, output_per_1k=0.6),
    "m-big": TokenPrice(input_per_1k=1.0, output_per_1k=4.0),
}
OPTIONS = ReportSettings(currency="EUR", loaded_wage_per_hour=36.0, queries_per_hour=12.0)

# (conversation, channel, day of the window, "HH:MM" UTC, tier); a handoff's handle seconds
# follow in HANDLED. 10 conversations, 12 messages: 8 auto, 3 human, 1 specialist; escalated
# conversations c4, c5, c6, c9.
MESSAGES = [
    ("c0", "web", 0, "09:10", "auto"),
    ("c0", "web", 0, "09:20", "auto"),
    ("c1", "web", 1, "10:05", "auto"),
    ("c6", "email", 1, "09:40", "auto"),
    ("c2", "web", 2, "10:30", "auto"),
    ("c6", "email", 2, "11:00", "human"),
    ("c3", "web", 3, "14:00", "auto"),
    ("c7", "email", 3, "20:00", "auto"),
    ("c4", "web", 4, "14:15", "human"),
    ("c5", "web", 5, "15:00", "specialist"),
    ("c8", "api", 6, "03:00", "auto"),
    ("c9", "api", 6, "23:30", "human"),
]
HANDLED = {"c4": 120.0, "c6": 240.0, "c9": 360.0, "c5": 480.0}
# The baseline week: 5 conversations, 3 of them escalated, handled in 400, 500 and 600 s.
BASELINE_MESSAGES = [
    ("b0", "web", 3, "12:00", "auto"),
    ("b1", "web", 3, "13:00", "human"),
    ("b2", "web", 3, "14:00", "human"),
    ("b3", "web", 3, "15:00", "specialist"),
    ("b4", "web", 3, "16:00", "auto"),
]
BASELINE_HANDLED = {"b1": 400.0, "b2": 500.0, "b3": 600.0}
# (model, input tokens, output tokens) of the window; m-local has no price.
LLM_CALLS = [
    ("m-small", 1000, 200),
    ("m-small", 3000, 800),
    ("m-big", 2000, 500),
    ("m-local", 5000, 1000),
]


def latency_of(index: int) -> dict[str, float]:
    """The stored stage latencies of the window's message `index`: 18 + index ms in all."""
    return {"queue_wait": 2.0, "intent": 10.0 + index, "response": 5.0, "coordinator": 1.0}


def seed(store: Store) -> None:
    ids = count()
    with store.session() as session:
        for rows, start, handled in (
            (MESSAGES, WINDOW.since, HANDLED),
            (BASELINE_MESSAGES, BASELINE.since, BASELINE_HANDLED),
            # After the window: counted nowhere.
            ([("late", "web", 0, "01:00", "human")], WINDOW.until, {"late": 9999.0}),
        ):
            for index, (conversation, channel, day, at, tier) in enumerate(rows):
                hour, minute = map(int, at.split(":"))
                received = start + timedelta(days=day, hours=hour, minutes=minute)
                _message(
                    session,
                    next(ids),
                    conversation,
                    channel,
                    received,
                    tier,
                    latency_of(index),
                    handled.get(conversation),
                )
        at = WINDOW.since + timedelta(days=2, hours=12)
        for model, input_tokens, output_tokens in LLM_CALLS:
            session.add(_llm_call(at, model, input_tokens, output_tokens))
        session.add(_llm_call(WINDOW.until + timedelta(hours=5), "m-big", 100_000, 100_000))


def _message(
    session,
    n: int,
    conversation: str,
    channel: str,
    received: datetime,
    tier: str,
    latency: dict[str, float],
    handle_seconds: float | None,
) -> None:
    message = f"m{n:03d}"
    if session.get(ConversationRow, conversation) is None:
        session.add(
            ConversationRow(
                id=conversation,
                channel=channel,
                status="open",
                created_at=received,
                updated_at=received,
            )
        )
        session.flush()
    decided = received + timedelta(seconds=1)
    session.add(
        MessageRow(
            id=message,
            conversation_id=conversation,
            channel=channel,
            text="hello",
            state="processed",
            received_at=received,
            enqueued_at=received,
            processed_at=decided,
        )
    )
    session.flush()
    session.add(
        DecisionRow(
            id=f"d{n:03d}",
            message_id=message,
            conversation_id=conversation,
            intent="track_order",
            confidence=0.95,
            model_version="test",
            tier=tier,
            rules=[],
            detail={},
            latency_ms=latency,
            created_at=decided,
        )
    )
    if tier != "auto":
        assert handle_seconds is not None
        resolved = decided + timedelta(seconds=handle_seconds + 60)
        session.add(
            HandoffRow(
                id=f"h{n:03d}",
                conversation_id=conversation,
                message_id=message,
                tier=tier,
                status="resolved",
                packet={},
                created_at=decided,
                resolved_at=resolved,
                resolved_by="alice",
                outcome="sent_as_drafted",
                handle_seconds=handle_seconds,
                escalations=0,
                assignee="alice",
                claimed_at=resolved - timedelta(seconds=handle_seconds),
            )
        )


def _llm_call(at: datetime, model: str, input_tokens: int, output_tokens: int) -> LlmCallRow:
    return LlmCallRow(
        at=at,
        purpose="response",
        provider="openai",
        model=model,
        outcome="ok",
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost=None,
        latency_ms=120.0,
    )

"""The report's figures, read from the store for a time window (SQLAlchemy, so the same on
SQLite and PostgreSQL). Rows are fetched with the few columns needed and counted here, so the
hours and days can be those of any time zone on either engine."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frontdesk.analytics.cost import LlmUsage, cost_figures
from frontdesk.analytics.model import (
    Baseline,
    Daily,
    HandleTime,
    Handling,
    Headline,
    Latency,
    Percentiles,
    Report,
    Routing,
    Volume,
)
from frontdesk.analytics.ratings import csat_figures
from frontdesk.clock import utcnow
from frontdesk.llm.settings import TokenPrice
from frontdesk.observability.report_settings import ReportSettings
from frontdesk.store.repository import Store
from frontdesk.store.tables import DecisionRow, HandoffRow, LlmCallRow, MessageRow

TIERS = ("auto", "human", "specialist")
HANDOFF_TIERS = ("human", "specialist")
TOTAL = "total"


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime


@dataclass(frozen=True)
class _Decided:
    at: datetime
    tier: str
    conversation_id: str
    latency_ms: dict[str, float]


def build_report(
    store: Store,
    window: Window,
    options: ReportSettings,
    prices: dict[str, TokenPrice],
    zone: tzinfo,
    baseline_window: Window | None = None,
) -> Report:
    """Every figure of the report for `window`. The headline compares it with
    `baseline_window`, else with the configured baseline figures where set, else with the
    window of the same length just before it."""
    with store.session() as session:
        decided = _decisions(session, window)
        received = _received(session, window)
        handle = _resolved(session, window)
        usage = _llm_usage(session, window)
        routing = _routing(decided)
        handling = _handling(handle)
        explicit = baseline_window is not None
        compare = baseline_window or Window(
            window.since - (window.until - window.since), window.since
        )
        before_routing = _routing(_decisions(session, compare))
        before_handling = _handling(_resolved(session, compare))
    baseline = _baseline(compare, before_routing, before_handling, options, explicit)
    return Report(
        since=window.since,
        until=window.until,
        timezone=str(zone),
        generated_at=utcnow(),
        headline=Headline(
            baseline=baseline,
            escalation_rate=routing.escalation_rate,
            average_handle_seconds=handling.average_handle_seconds,
            escalation_rate_change=_change(routing.escalation_rate, baseline.escalation_rate),
            average_handle_time_change=_change(
                handling.average_handle_seconds, baseline.average_handle_seconds
            ),
        ),
        volume=_volume(received, zone),
        daily=_daily(window, decided, received, zone),
        routing=routing,
        handling=handling,
        latency=_latency(decided),
        csat=csat_figures(store, window.since, window.until),
        cost=cost_figures(
            options,
            prices,
            interactions=routing.conversations,
            human_seconds=handling.human_seconds,
            usage=usage,
        ),
    )


def _baseline(
    window: Window, routing: Routing, handling: Handling, options: ReportSettings, explicit: bool
) -> Baseline:
    measured = {
        "escalation_rate": routing.escalation_rate,
        "average_handle_seconds": handling.average_handle_seconds,
    }
    configured = {} if explicit else options.baseline.model_dump(exclude_none=True)
    figures = {**measured, **configured}
    return Baseline(
        since=window.since,
        until=window.until,
        escalation_rate=figures["escalation_rate"],
        average_handle_seconds=figures["average_handle_seconds"],
        configured=sorted(configured),
    )


def _decisions(session: Session, window: Window) -> list[_Decided]:
    rows = session.execute(
        select(
            DecisionRow.created_at,
            DecisionRow.tier,
            DecisionRow.conversation_id,
            DecisionRow.latency_ms,
        ).where(DecisionRow.created_at >= window.since, DecisionRow.created_at < window.until)
    ).all()
    return [
        _Decided(at, tier, conversation, latency or {}) for at, tier, conversation, latency in rows
    ]


def _received(session: Session, window: Window) -> list[tuple[datetime, str]]:
    rows = session.execute(
        select(MessageRow.received_at, MessageRow.channel).where(
            MessageRow.received_at >= window.since, MessageRow.received_at < window.until
        )
    ).all()
    return [(at, channel) for at, channel in rows]


def _resolved(session: Session, window: Window) -> list[tuple[str, float]]:
    rows = session.execute(
        select(HandoffRow.tier, HandoffRow.handle_seconds).where(
            HandoffRow.resolved_at >= window.since,
            HandoffRow.resolved_at < window.until,
            HandoffRow.handle_seconds.is_not(None),
        )
    ).all()
    return [(tier, float(seconds)) for tier, seconds in rows if seconds is not None]


def _llm_usage(session: Session, window: Window) -> list[LlmUsage]:
    rows = session.execute(
        select(
            LlmCallRow.model,
            func.count(),
            func.coalesce(func.sum(LlmCallRow.input_tokens), 0),
            func.coalesce(func.sum(LlmCallRow.output_tokens), 0),
        )
        .where(LlmCallRow.at >= window.since, LlmCallRow.at < window.until)
        .group_by(LlmCallRow.model)
        .order_by(LlmCallRow.model)
    ).all()
    return [LlmUsage(model, int(calls), int(i), int(o)) for model, calls, i, o in rows]


def _routing(decided: Sequence[_Decided]) -> Routing:
    counts = Counter(d.tier for d in decided)
    conversations = {d.conversation_id for d in decided}
    escalated = {d.conversation_id for d in decided if d.tier in HANDOFF_TIERS}
    return Routing(
        messages=len(decided),
        conversations=len(conversations),
        tier_shares={tier: _ratio(counts[tier], len(decided)) for tier in TIERS},
        tier_messages={tier: counts[tier] for tier in TIERS},
        escalated_conversations=len(escalated),
        escalation_rate=_ratio(len(escalated), len(conversations)),
        automation_rate=_ratio(counts["auto"], len(decided)),
    )


def _handling(resolved: Sequence[tuple[str, float]]) -> Handling:
    per_tier: dict[str, list[float]] = {tier: [] for tier in HANDOFF_TIERS}
    for tier, seconds in resolved:
        per_tier.setdefault(tier, []).append(seconds)
    every = [seconds for _, seconds in resolved]
    return Handling(
        per_tier={tier: _handle_time(values) for tier, values in per_tier.items()},
        resolved=len(every),
        human_seconds=round(sum(every), 3),
        average_handle_seconds=_mean(every),
    )


def _handle_time(values: list[float]) -> HandleTime:
    return HandleTime(
        resolved=len(values),
        median_seconds=_percentile(values, 50),
        p90_seconds=_percentile(values, 90),
        mean_seconds=_mean(values),
    )


def _latency(decided: Sequence[_Decided]) -> Latency:
    stages: dict[str, list[float]] = defaultdict(list)
    totals = []
    for decision in decided:
        if not decision.latency_ms:
            continue
        totals.append(sum(decision.latency_ms.values()))
        for stage, ms in decision.latency_ms.items():
            stages[stage].append(ms)
    return Latency(
        total=_percentiles(totals),
        stages={stage: _percentiles(values) for stage, values in sorted(stages.items())},
    )


def _percentiles(values: list[float]) -> Percentiles:
    return Percentiles(
        count=len(values),
        p50_ms=_percentile(values, 50),
        p95_ms=_percentile(values, 95),
        p99_ms=_percentile(values, 99),
    )


def _volume(received: Iterable[tuple[datetime, str]], zone: tzinfo) -> Volume:
    hours: dict[str, list[int]] = {}
    for at, channel in received:
        hours.setdefault(channel, [0] * 24)[at.astimezone(zone).hour] += 1
    by_channel = {channel: sum(counts) for channel, counts in sorted(hours.items())}
    return Volume(
        messages=sum(by_channel.values()),
        by_channel=by_channel,
        by_channel_hour={channel: hours[channel] for channel in by_channel},
    )


def _daily(
    window: Window,
    decided: Sequence[_Decided],
    received: Sequence[tuple[datetime, str]],
    zone: tzinfo,
) -> Daily:
    days = _days(window, zone)
    index = {day: i for i, day in enumerate(days)}
    messages = [0] * len(days)
    for at, _ in received:
        messages[index[at.astimezone(zone).date()]] += 1
    by_day: dict[date, list[_Decided]] = defaultdict(list)
    for decision in decided:
        by_day[decision.at.astimezone(zone).date()].append(decision)
    routed = [_routing(by_day[day]) for day in days]
    return Daily(
        days=[day.isoformat() for day in days],
        messages=messages,
        tiers={tier: [r.tier_messages[tier] for r in routed] for tier in TIERS},
        escalation_rate=[r.escalation_rate for r in routed],
        automation_rate=[r.automation_rate for r in routed],
    )


def _days(window: Window, zone: tzinfo) -> list[date]:
    first = window.since.astimezone(zone).date()
    last = (window.until - timedelta(microseconds=1)).astimezone(zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _change(now: float | None, before: float | None) -> float | None:
    if now is None or before is None or before == 0:
        return None
    return round((now - before) / before, 4)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _mean(values: list[float]) -> float | None:
    return round(float(np.mean(values)), 3) if values else None


def _percentile(values: list[float], q: int) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None

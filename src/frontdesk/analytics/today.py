"""The inbox overview's figures: today's and the last week's volumes, and the report's headline
figures for today, in the business hours' time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

from frontdesk.analytics.figures import Window, build_report
from frontdesk.analytics.model import Report
from frontdesk.clock import utcnow
from frontdesk.config import Settings
from frontdesk.contracts import ServiceMetrics
from frontdesk.store.metrics import service_metrics
from frontdesk.store.repository import Store


@dataclass(frozen=True)
class Overview:
    zone: str
    today: ServiceMetrics
    week: ServiceMetrics
    report: Report  # today, against the day before or [report.baseline]


def overview(store: Store, settings: Settings) -> Overview:
    now = utcnow()
    zone = ZoneInfo(settings.routing.business_hours.timezone)
    midnight = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    since = midnight.astimezone(UTC)
    report = build_report(store, Window(since, now), settings.report, settings.llm.prices, zone)
    return Overview(
        zone=str(zone),
        today=service_metrics(store, since, now),
        week=service_metrics(store, now - timedelta(days=7), now),
        report=report,
    )

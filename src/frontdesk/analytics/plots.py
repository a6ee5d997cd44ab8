"""The report's plots, drawn with matplotlib (its object API: no pyplot state, safe in any
thread) and returned as base64 PNG for an <img> of the self-contained page."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from frontdesk.analytics.model import Report

TIER_COLOURS = {"auto": "#4c9f70", "human": "#e0a030", "specialist": "#c0504d"}
STAGE_COLOURS = ("#4c72b0", "#dd8452", "#55a868")
SIZE = (7.2, 3.0)


def plots(report: Report) -> dict[str, tuple[str, str]]:
    """Each plot of the page by its id: its caption and its PNG, base64-encoded."""
    drawn: dict[str, tuple[str, Callable[[Axes, Report], None]]] = {
        "volume": ("Messages by channel and hour of the day", _volume),
        "tiers": ("Tier shares and first-level escalation rate per day", _tiers),
        "automation": ("Automation rate per day", _automation),
        "handle-time": ("Handle time per tier (median, p90)", _handle_time),
        "latency": ("Real-time path latency (p50, p95, p99)", _latency),
        "cost": ("Cost per interaction against an all-human team", _cost),
    }
    return {name: (caption, _png(draw, report)) for name, (caption, draw) in drawn.items()}


def _png(draw: Callable[[Axes, Report], None], report: Report) -> str:
    figure = Figure(figsize=SIZE, dpi=110, layout="constrained")
    axis = figure.subplots()
    draw(axis, report)
    axis.spines[["top", "right"]].set_visible(False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _nothing(axis: Axes, what: str) -> None:
    axis.text(0.5, 0.5, f"no {what} in the window", ha="center", va="center", color="grey")
    axis.set_xticks([])
    axis.set_yticks([])


def _volume(axis: Axes, report: Report) -> None:
    hours = list(range(24))
    bottom = [0] * 24
    if not report.volume.messages:
        return _nothing(axis, "messages")
    for channel, counts in report.volume.by_channel_hour.items():
        axis.bar(hours, counts, bottom=bottom, label=channel)
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    axis.set_xticks(hours[::2])
    axis.set_xlabel(f"hour ({report.timezone})")
    axis.set_ylabel("messages")
    axis.legend(frameon=False, fontsize="small")


def _day_labels(axis: Axes, days: list[str]) -> None:
    step = max(1, len(days) // 10)
    axis.set_xticks(range(0, len(days), step))
    axis.set_xticklabels([day[5:] for day in days[::step]], fontsize="small")


def _tiers(axis: Axes, report: Report) -> None:
    daily = report.daily
    if not report.routing.messages:
        return _nothing(axis, "decisions")
    positions = range(len(daily.days))
    totals = [sum(per_day) for per_day in zip(*daily.tiers.values(), strict=True)]
    bottom = [0.0] * len(daily.days)
    for tier, counts in daily.tiers.items():
        shares = [
            count / total if total else 0.0 for count, total in zip(counts, totals, strict=True)
        ]
        axis.bar(positions, shares, bottom=bottom, color=TIER_COLOURS.get(tier), label=tier)
        bottom = [b + s for b, s in zip(bottom, shares, strict=True)]
    rates = [rate if rate is not None else float("nan") for rate in daily.escalation_rate]
    axis.plot(positions, rates, color="black", marker="o", label="escalation rate")
    axis.set_ylim(0, 1.05)
    axis.set_ylabel("share")
    _day_labels(axis, daily.days)
    axis.legend(frameon=False, fontsize="small", ncols=4, loc="upper center",
                bbox_to_anchor=(0.5, 1.18))  # fmt: skip


def _automation(axis: Axes, report: Report) -> None:
    daily = report.daily
    if not report.routing.messages:
        return _nothing(axis, "decisions")
    rates = [rate if rate is not None else float("nan") for rate in daily.automation_rate]
    axis.plot(range(len(daily.days)), rates, color=TIER_COLOURS["auto"], marker="o")
    overall = report.routing.automation_rate
    if overall is not None:
        axis.axhline(overall, color="grey", linestyle="--", label=f"window: {overall:.1%}")
        axis.legend(frameon=False, fontsize="small")
    axis.set_ylim(0, 1.05)
    axis.set_ylabel("answered by the bot")
    _day_labels(axis, daily.days)


def _handle_time(axis: Axes, report: Report) -> None:
    tiers = report.handling.per_tier
    if not report.handling.resolved:
        return _nothing(axis, "resolved handoffs")
    names = list(tiers)
    width = 0.38
    for offset, (label, key) in enumerate((("median", "median_seconds"), ("p90", "p90_seconds"))):
        minutes = [(getattr(tiers[name], key) or 0) / 60 for name in names]
        bars = axis.bar([i + (offset - 0.5) * width for i in range(len(names))], minutes, width,
                        label=label, color=STAGE_COLOURS[offset])  # fmt: skip
        axis.bar_label(bars, fmt="%.1f", fontsize="small")
    axis.set_xticks(range(len(names)))
    axis.set_xticklabels([f"{name} ({tiers[name].resolved})" for name in names])
    axis.set_ylabel("minutes")
    axis.legend(frameon=False, fontsize="small")


def _latency(axis: Axes, report: Report) -> None:
    rows = {"total": report.latency.total, **report.latency.stages}
    if not report.latency.total.count:
        return _nothing(axis, "decisions")
    names = list(rows)
    width = 0.27
    for offset, key in enumerate(("p50_ms", "p95_ms", "p99_ms")):
        values = [getattr(rows[name], key) or 0 for name in names]
        axis.bar([i + (offset - 1) * width for i in range(len(names))], values, width,
                 label=key.removesuffix("_ms"), color=STAGE_COLOURS[offset])  # fmt: skip
    axis.set_xticks(range(len(names)))
    axis.set_xticklabels([name.replace("_", " ") for name in names], fontsize="small")
    axis.set_ylabel("milliseconds")
    axis.legend(frameon=False, fontsize="small")


def _cost(axis: Axes, report: Report) -> None:
    cost = report.cost
    if not cost.interactions:
        return _nothing(axis, "interactions")
    per = cost.interactions
    llm, human = cost.llm_cost / per, cost.human_cost / per
    axis.barh([1], [llm], height=0.6, color="#4c72b0", label="language model")
    axis.barh([1], [human], height=0.6, left=[llm], color="#dd8452", label="people (handoffs)")
    axis.barh([0], [cost.all_human_cost_per_interaction], height=0.6, color="#8c8c8c")
    axis.set_yticks([0, 1])
    axis.set_yticklabels(["all-human team", "frontdesk"])
    axis.set_xlabel(f"{cost.currency} per interaction")
    for row, value in ((1, llm + human), (0, cost.all_human_cost_per_interaction)):
        axis.text(value, row, f" {value:.2f}", va="center", fontsize="small")
    axis.set_ylim(-0.5, 2.0)
    axis.legend(frameon=False, fontsize="small", loc="upper right", ncols=2)

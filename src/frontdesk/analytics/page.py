"""The report as one self-contained HTML page: inline style, the plots as data: URLs, the
figures in tables, and the JSON twin embedded (`<script type="application/json">`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from frontdesk.analytics.model import Percentiles, Report
from frontdesk.analytics.plots import plots

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; color: #222; margin: 0; background: #f6f6f4; }
main { max-width: 1020px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 0 0 10px; }
.window { color: #666; margin-bottom: 22px; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 14px; margin-bottom: 22px; }
.card { background: #fff; border-radius: 8px; padding: 14px 16px; box-shadow: 0 1px 2px #0002; }
.card .value { font-size: 28px; font-weight: 600; } .card .label { color: #555; }
.card .detail { color: #777; font-size: 13px; }
.good { color: #2e7d4f; } .bad { color: #b23c3c; }
section { background: #fff; border-radius: 8px; padding: 16px 18px; margin-bottom: 18px;
  box-shadow: 0 1px 2px #0002; }
section img { display: block; max-width: 100%; margin: 0 auto 10px; }
table { border-collapse: collapse; font-size: 14px; } td, th { padding: 3px 12px 3px 0; }
th { text-align: left; color: #555; font-weight: 600; } td.n { text-align: right; }
.note { color: #666; font-size: 13px; } .empty { color: #777; font-style: italic; }
"""


def render_page(report: Report) -> str:
    drawn = plots(report)
    data = report.model_dump_json().replace("</", "<\\/")
    body = "\n".join(
        [
            "<h1>frontdesk report</h1>",
            f'<p class="window">{_when(report)}</p>',
            _headline(report),
            _section("volume", "Volume", drawn, _volume_table(report)),
            _section("tiers", "Tiers and escalations", drawn, _routing_table(report)),
            _section("automation", "Automation", drawn, _automation_note(report)),
            _section("handle-time", "Handle time", drawn, _handle_table(report)),
            _section("latency", "Latency of the real-time path", drawn, _latency_table(report)),
            _csat(report),
            _section("cost", "Cost per interaction", drawn, _cost_table(report)),
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>frontdesk report {report.since:%Y-%m-%d} to {report.until:%Y-%m-%d}</title>\n"
        f"<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}\n</main>\n"
        f'<script type="application/json" id="report-data">{data}</script>\n</body>\n</html>\n'
    )


def _when(report: Report) -> str:
    return escape(
        f"{report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC; hours and days "
        f"in {report.timezone}; generated {report.generated_at:%Y-%m-%d %H:%M} UTC"
    )


def _headline(report: Report) -> str:
    head = report.headline
    base = head.baseline
    against = f"baseline {base.since:%Y-%m-%d} to {base.until:%Y-%m-%d}" + (
        f" ({', '.join(base.configured)} from [report.baseline])" if base.configured else ""
    )
    cost = report.cost
    cards = [
        _card("escalation-change", _change(head.escalation_rate_change),
              "first-level escalation rate",
              f"{_pct(head.escalation_rate)} against {_pct(base.escalation_rate)}",
              head.escalation_rate_change),
        _card("handle-time-change", _change(head.average_handle_time_change),
              "average handle time",
              f"{_duration(head.average_handle_seconds)} against "
              f"{_duration(base.average_handle_seconds)}", head.average_handle_time_change),
        _card("automation", _pct(report.routing.automation_rate), "automation rate",
              f"{report.routing.tier_messages['auto']} of {report.routing.messages} messages",
              None),
        _card("cost-per-interaction", _money(cost.cost_per_interaction, cost.currency),
              "cost per interaction",
              f"all-human {_money(cost.all_human_cost_per_interaction, cost.currency)}", None),
    ]  # fmt: skip
    return (
        f'<div class="cards">{"".join(cards)}</div>\n'
        f'<p class="note">Changes are (window − baseline) / baseline, {escape(against)}.</p>'
    )


def _card(name: str, value: str, label: str, detail: str, change: float | None) -> str:
    tone = "" if change is None else (" good" if change < 0 else " bad" if change > 0 else "")
    return (
        f'<div class="card" id="card-{name}"><div class="value{tone}">{escape(value)}</div>'
        f'<div class="label">{escape(label)}</div>'
        f'<div class="detail">{escape(detail)}</div></div>'
    )


def _section(name: str, title: str, drawn: dict[str, tuple[str, str]], figures: str) -> str:
    caption, png = drawn[name]
    return (
        f'<section id="{name}"><h2>{escape(title)}</h2>\n'
        f'<img id="plot-{name}" alt="{escape(caption)}" src="data:image/png;base64,{png}">\n'
        f"{figures}</section>"
    )


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    lines = [
        "<tr>"
        + "".join(
            f'<td class="n">{escape(str(cell))}</td>' if i else f"<td>{escape(str(cell))}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    ]
    return f"<table><tr>{head}</tr>{''.join(lines)}</table>\n"


def _volume_table(report: Report) -> str:
    volume = report.volume
    rows: list[tuple[object, ...]] = [
        (channel, volume.by_channel[channel], f"{max(range(24), key=counts.__getitem__):02d}:00")
        for channel, counts in volume.by_channel_hour.items()
    ]
    return _table(("channel", "messages", "busiest hour"), [*rows, ("all", volume.messages, "")])


def _routing_table(report: Report) -> str:
    routing = report.routing
    rows: list[tuple[object, ...]] = [
        (tier, routing.tier_messages[tier], _pct(share))
        for tier, share in routing.tier_shares.items()
    ]
    rows.append(
        (
            "escalated conversations",
            f"{routing.escalated_conversations} of {routing.conversations}",
            _pct(routing.escalation_rate),
        )
    )
    return _table(("tier", "messages", "share"), rows)


def _automation_note(report: Report) -> str:
    routing = report.routing
    return (
        f'<p class="note">{_pct(routing.automation_rate)} of the {routing.messages} decided '
        "messages were answered by the bot without a person.</p>\n"
    )


def _handle_table(report: Report) -> str:
    handling = report.handling
    rows = [
        (tier, t.resolved, _duration(t.median_seconds), _duration(t.p90_seconds),
         _duration(t.mean_seconds))
        for tier, t in handling.per_tier.items()
    ]  # fmt: skip
    rows.append(("all", handling.resolved, "", "", _duration(handling.average_handle_seconds)))
    return _table(("tier", "resolved", "median", "p90", "mean"), rows)


def _latency_table(report: Report) -> str:
    rows = {"total (received → decided)": report.latency.total, **report.latency.stages}
    return _table(
        ("stage", "messages", "p50 ms", "p95 ms", "p99 ms"),
        [(name, p.count, *_ms(p)) for name, p in rows.items()],
    )


def _ms(p: Percentiles) -> tuple[str, str, str]:
    return tuple(  # type: ignore[return-value]
        "–" if value is None else f"{value:.1f}" for value in (p.p50_ms, p.p95_ms, p.p99_ms)
    )


def _csat(report: Report) -> str:
    csat = report.csat
    if csat is None:
        inner = '<p class="empty" id="csat-empty">no ratings yet</p>'
    else:
        inner = (
            _table(
                ("tier", "average rating"),
                [("all", csat.average), *csat.per_tier.items()],
            )
            + f'<p class="note">{csat.ratings} ratings; CSAT (4 or 5 of 5) '
            f"{_pct(csat.satisfied)}</p>"
        )
    return f'<section id="csat"><h2>Customer satisfaction</h2>\n{inner}</section>'


def _cost_table(report: Report) -> str:
    cost = report.cost
    c = cost.currency
    rows: list[tuple[object, ...]] = [
        (f"language model: {model}", f"{_calls(m.calls)}, {m.input_tokens} in / "
         f"{m.output_tokens} out tokens", _money(m.cost, c) if m.priced else "no price set")
        for model, m in cost.llm_by_model.items()
    ]  # fmt: skip
    rows += [
        ("people", f"{cost.human_minutes:.1f} min at {_money(cost.loaded_wage_per_hour, c)}/h",
         _money(cost.human_cost, c)),
        ("frontdesk in all", f"{cost.interactions} interactions", _money(cost.total_cost, c)),
        ("all-human team", f"{cost.queries_per_hour:g} interactions per person-hour",
         _money(cost.all_human_cost, c)),
        ("saving", _pct(cost.saving_share), _money(cost.saving, c)),
    ]  # fmt: skip
    return _table(("", "", "cost"), rows)


def _calls(n: int) -> str:
    return "1 call" if n == 1 else f"{n} calls"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _change(value: float | None) -> str:
    return "–" if value is None else f"{value:+.1%}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def _money(value: float | None, currency: str) -> str:
    return "–" if value is None else f"{value:,.2f} {currency}"

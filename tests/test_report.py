"""`frontdesk report`: the figures of a seeded store, on SQLite and PostgreSQL, its page with
every plot, its JSON twin, and its cost against a hand computation."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from typer.testing import CliRunner

import report_seed
from conftest import MovedClock
from frontdesk.analytics.figures import Window, build_report
from frontdesk.analytics.model import Report
from frontdesk.analytics.page import render_page
from frontdesk.cli.main import app as cli
from frontdesk.config import get_settings, load_settings
from frontdesk.observability.report_settings import ReportSettings
from frontdesk.runtime.services import open_store
from frontdesk.store.repository import Store
from report_seed import BASELINE, OPTIONS, PRICES, WINDOW
from test_architecture import PACKAGE, WEB_FRAMEWORKS, imported_modules

UTC_ZONE = ZoneInfo("UTC")
PLOTS = ("volume", "tiers", "automation", "handle-time", "latency", "cost")


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty store migrated to head, on either engine."""
    url = None if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    opened = open_store(load_settings(data_dir=tmp_path / "data", store={"url": url}))
    yield opened
    opened.engine.dispose()


@pytest.fixture
def seeded(store: Store) -> Store:
    report_seed.seed(store)
    return store


def report_of(store: Store, options: ReportSettings = OPTIONS, **kwargs) -> Report:
    return build_report(store, WINDOW, options, PRICES, UTC_ZONE, **kwargs)


def test_the_figures_of_a_seeded_store(seeded: Store) -> None:
    report = report_of(seeded)
    volume = report.volume
    assert volume.messages == 12
    assert volume.by_channel == {"api": 2, "email": 3, "web": 7}
    assert {hour: n for hour, n in enumerate(volume.by_channel_hour["web"]) if n} == {
        9: 2, 10: 2, 14: 2, 15: 1
    }  # fmt: skip
    assert {hour: n for hour, n in enumerate(volume.by_channel_hour["api"]) if n} == {3: 1, 23: 1}

    routing = report.routing
    assert (routing.messages, routing.conversations) == (12, 10)
    assert routing.tier_messages == {"auto": 8, "human": 3, "specialist": 1}
    assert routing.tier_shares == {"auto": 0.6667, "human": 0.25, "specialist": 0.0833}
    assert (routing.escalated_conversations, routing.escalation_rate) == (4, 0.4)
    assert routing.automation_rate == 0.6667

    daily = report.daily
    assert daily.days == [f"2026-11-{day:02d}" for day in range(9, 16)]
    assert daily.messages == [2, 2, 2, 2, 1, 1, 2]
    assert daily.tiers["human"] == [0, 0, 1, 0, 1, 0, 1]
    # Day 2: c2 (auto) and c6 (its human turn): one of two conversations escalated.
    assert daily.escalation_rate == [0.0, 0.0, 0.5, 0.0, 1.0, 1.0, 0.5]
    assert daily.automation_rate == [1.0, 1.0, 0.5, 1.0, 0.0, 0.0, 0.5]

    handling = report.handling
    assert handling.resolved == 4
    assert handling.human_seconds == 1200.0
    assert handling.average_handle_seconds == 300.0
    human = handling.per_tier["human"]
    assert (human.resolved, human.median_seconds, human.p90_seconds) == (3, 240.0, 336.0)
    specialist = handling.per_tier["specialist"]
    assert (specialist.median_seconds, specialist.p90_seconds) == (480.0, 480.0)

    totals = [18.0 + index for index in range(12)]
    for q in (50, 95, 99):
        assert getattr(report.latency.total, f"p{q}_ms") == round(np.percentile(totals, q), 3)
    assert report.latency.stages["intent"].p50_ms == 15.5
    assert report.latency.total.count == 12
    assert report.csat is None  # no ratings are stored yet


def test_cost_equals_the_hand_computation(seeded: Store) -> None:
    cost = report_of(seeded).cost
    # m-small: 4,000 input tokens at 0.15 and 1,000 output at 0.6 per 1,000; m-big: 2,000 at 1
    # and 500 at 4; m-local has no price.
    small = 4 * 0.15 + 1 * 0.6
    big = 2 * 1.0 + 0.5 * 4.0
    assert cost.llm_by_model["m-small"].cost == pytest.approx(small)
    assert cost.llm_by_model["m-big"].cost == pytest.approx(big)
    assert cost.llm_by_model["m-local"].model_dump() == {
        "calls": 1, "input_tokens": 5000, "output_tokens": 1000, "priced": False, "cost": 0.0
    }  # fmt: skip
    assert cost.llm_cost == pytest.approx(5.2)
    # People: 120 + 240 + 360 + 480 s = 20 minutes at 36 EUR an hour.
    assert cost.human_minutes == 20.0
    assert cost.human_cost == pytest.approx(20 / 60 * 36)
    assert cost.total_cost == pytest.approx(5.2 + 12.0)
    assert cost.interactions == 10
    assert cost.cost_per_interaction == pytest.approx(17.2 / 10)
    # All-human: each of the 10 conversations a twelfth of a person-hour at 36 EUR.
    assert cost.all_human_cost_per_interaction == pytest.approx(36 / 12)
    assert cost.all_human_cost == pytest.approx(30.0)
    assert cost.saving == pytest.approx(30.0 - 17.2)
    assert cost.saving_share == round((30.0 - 17.2) / 30.0, 4)
    assert cost.currency == "EUR"


def test_headline_against_the_window_before_or_the_configured_baseline(seeded: Store) -> None:
    headline = report_of(seeded).headline
    assert (headline.baseline.since, headline.baseline.until) == (BASELINE.since, BASELINE.until)
    assert (headline.baseline.escalation_rate, headline.escalation_rate) == (0.6, 0.4)
    assert headline.escalation_rate_change == round((0.4 - 0.6) / 0.6, 4)
    assert (headline.baseline.average_handle_seconds, headline.average_handle_seconds) == (
        500.0, 300.0
    )  # fmt: skip
    assert headline.average_handle_time_change == -0.4
    assert headline.baseline.configured == []

    configured = ReportSettings(**{**OPTIONS.model_dump(), "baseline": {"escalation_rate": 0.8}})
    from_config = report_of(seeded, configured).headline
    assert from_config.baseline.configured == ["escalation_rate"]
    assert from_config.escalation_rate_change == -0.5
    assert from_config.average_handle_time_change == -0.4  # still the window's

    # A baseline window asked for wins over the configuration: here one with no data at all.
    empty = Window(datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 8, tzinfo=UTC))
    asked = report_of(seeded, configured, baseline_window=empty).headline
    assert asked.baseline.configured == []
    assert asked.baseline.escalation_rate is None
    assert asked.escalation_rate_change is None


def test_the_page_shows_every_plot_and_carries_its_json_twin(seeded: Store) -> None:
    report = report_of(seeded)
    page = render_page(report)
    for name in PLOTS:
        match = re.search(rf'<img id="plot-{name}" alt="[^"]+" src="data:image/png;base64,'
                          r'([A-Za-z0-9+/=]+)">', page)  # fmt: skip
        assert match, name
        assert base64.b64decode(match.group(1)).startswith(b"\x89PNG\r\n\x1a\n")
    assert '<p class="empty" id="csat-empty">no ratings yet</p>' in page
    assert 'src="http' not in page and "<link" not in page  # self-contained
    embedded = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page)
    assert embedded and Report.model_validate_json(embedded.group(1)) == report
    # The figures the page prints are those of the twin.
    assert "-33.3%" in page and "-40.0%" in page
    assert "1.72 EUR" in page and "3.00 EUR" in page and "66.7%" in page


def test_an_empty_store_gives_a_page_that_says_so(store: Store) -> None:
    report = report_of(store)
    assert report.routing.escalation_rate is None
    assert report.cost.cost_per_interaction is None
    page = render_page(report)
    assert page.count('<img id="plot-') == len(PLOTS)


CONFIG = """
[report]
currency = "EUR"
loaded_wage_per_hour = 36
queries_per_hour = 12
timezone = "UTC"

[llm.prices."m-small"]
input_per_1k = 0.15
output_per_1k = 0.6

[llm.prices."m-big"]
input_per_1k = 1.0
output_per_1k = 4.0
"""


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "frontdesk.toml").write_text(CONFIG)  # the working directory of the test
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    store = open_store(get_settings())
    report_seed.seed(store)
    store.engine.dispose()
    yield tmp_path
    get_settings.cache_clear()


def test_the_command_writes_the_page_and_the_json(configured: Path, clock: MovedClock) -> None:
    clock.now = WINDOW.until
    runner = CliRunner()
    done = runner.invoke(cli, ["report", "--since", "7d", "--out", "report.html"])
    assert done.exit_code == 0, done.output
    page = (configured / "report.html").read_text()
    assert all(f'id="plot-{name}"' in page for name in PLOTS)

    done = runner.invoke(cli, ["report", "--since", "7d", "--format", "json"])
    assert done.exit_code == 0, done.output
    twin = json.loads(done.output)
    assert twin["cost"]["total_cost"] == pytest.approx(17.2)
    assert twin["headline"]["average_handle_time_change"] == -0.4
    assert twin["volume"]["by_channel"] == {"api": 2, "email": 3, "web": 7}

    done = runner.invoke(cli, ["report", "--since", WINDOW.since.isoformat(), "--until",
                               WINDOW.until.isoformat(), "--format", "json", "--out", "r.json",
                               "--baseline-since", "2026-10-01", "--baseline-until",
                               "2026-10-08"])  # fmt: skip
    assert done.exit_code == 0, done.output
    twin = json.loads((configured / "r.json").read_text())
    assert twin["headline"]["baseline"]["since"].startswith("2026-10-01")
    assert twin["headline"]["escalation_rate_change"] is None


def test_the_command_refuses_bad_windows(configured: Path) -> None:
    runner = CliRunner()
    backwards = runner.invoke(cli, ["report", "--since", "2026-11-10", "--until", "2026-11-09"])
    assert backwards.exit_code == 2
    alone = runner.invoke(cli, ["report", "--baseline-until", "2026-11-09"])
    assert alone.exit_code == 2
    assert "--baseline-since" in alone.output


def test_analytics_imports_no_web_framework() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in sorted((PACKAGE / "analytics").rglob("*.py"))
        for module in imported_modules(path)
        if module.split(".")[0] in WEB_FRAMEWORKS
    ]
    assert offenders == []

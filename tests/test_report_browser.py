"""The report's page in Debian's Chromium: every plot loads from the page itself, and the
picture in docs/observability.md is what the browser shows (FRONTDESK_TEST_SCREENSHOTS)."""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser

import report_seed
from frontdesk.analytics.figures import build_report
from frontdesk.analytics.page import render_page
from frontdesk.config import load_settings
from frontdesk.runtime.services import open_store
from report_seed import OPTIONS, PRICES, WINDOW
from test_browser import browser  # noqa: F401  (the module's Chromium fixture)
from test_report import PLOTS

pytestmark = pytest.mark.browser
SCREENSHOTS = os.environ.get("FRONTDESK_TEST_SCREENSHOTS")


def test_the_report_page_opens_in_chromium(browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    store = open_store(load_settings(data_dir=tmp_path / "data"))
    report_seed.seed(store)
    report = build_report(store, WINDOW, OPTIONS, PRICES, ZoneInfo("UTC"))
    store.engine.dispose()
    page_file = tmp_path / "report.html"
    page_file.write_text(render_page(report), encoding="utf-8")

    context = browser.new_context(viewport={"width": 1100, "height": 900}, offline=True)
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    page = context.new_page()
    page.goto(page_file.as_uri())
    for name in PLOTS:
        width = page.eval_on_selector(f"#plot-{name}", "img => img.complete && img.naturalWidth")
        assert width > 0, name
    assert page.locator("#csat-empty").inner_text() == "no ratings yet"
    assert page.locator("#card-escalation-change .value").inner_text() == "-33.3%"
    # Nothing but the file itself and its data: URLs is fetched.
    assert {url for url in requested if not url.startswith("data:")} == {page_file.as_uri()}
    if SCREENSHOTS:
        page.screenshot(path=Path(SCREENSHOTS).resolve() / "report.png", full_page=True)
    context.close()

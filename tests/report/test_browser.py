"""The report opened in headless Chromium, as a person would open it: it loads without errors
or network requests, shows the verdict first, the verdict table and every figure decoded.
Full-page screenshots land in test-artifacts/report/ for people to look at."""

from __future__ import annotations

import json

import pytest

from repro.report.attach import REPORT_FILE
from tests.report.browser import Browser

pytestmark = [pytest.mark.slow, pytest.mark.infra]


@pytest.fixture()
def browser(chromium_binary):
    session = Browser(chromium_binary)
    try:
        yield session
    finally:
        session.close()


@pytest.mark.parametrize("name", ["fail", "threads"])
def test_report_renders_in_chromium(report_store, browser, artifacts_dir, name):
    campaign = report_store.campaigns[name]
    summary = json.loads((campaign / "summary.json").read_text())
    browser.open((campaign / REPORT_FILE).as_uri())
    shot = browser.screenshot(artifacts_dir / f"report-{name}.png")
    assert shot.stat().st_size > 50_000
    log = browser.log
    assert log.exceptions == [] and log.console_errors == [] and log.failed_loads == []
    assert {url.split(":", 1)[0] for url in log.requested} <= {"file", "data"}, log.requested
    state = browser.evaluate("""(() => {
        const banner = document.querySelector('#verdict');
        const table = document.querySelector('#verdict-table');
        const images = [...document.images];
        return {
          word: banner.querySelector('.word').textContent.trim(),
          bannerTop: banner.getBoundingClientRect().top,
          tableTop: table.getBoundingClientRect().top,
          bannerVisible: banner.getBoundingClientRect().height > 20,
          rows: table.querySelectorAll('tbody tr').length,
          images: images.length,
          decoded: images.filter(i => i.complete && i.naturalWidth > 300).length,
          widest: Math.max(...images.map(i => i.getBoundingClientRect().width)),
          overflow: document.documentElement.scrollWidth - window.innerWidth,
        };
    })()""")
    assert state["word"].endswith(summary["overall"].upper())
    assert state["bannerVisible"] and state["bannerTop"] < state["tableTop"]
    assert state["rows"] == len(summary["cells"])
    assert state["images"] >= 5 and state["decoded"] == state["images"]
    assert state["widest"] <= 1300
    assert state["overflow"] <= 0  # nothing sticks out to the right of the page


def test_fail_is_visible_without_scrolling(report_store, browser):
    browser.open((report_store.campaigns["fail"] / REPORT_FILE).as_uri())
    visible = browser.evaluate("""(() => {
        const r = document.querySelector('#verdict').getBoundingClientRect();
        const moved = document.querySelector('#moved-summary').getBoundingClientRect();
        return r.bottom <= window.innerHeight && moved.bottom <= window.innerHeight;
    })()""")
    assert visible

"""运行监控 in Debian's Chromium while a real crawl runs: started from the page, watched live, stopped from the page.

The crawled site is the test's own: its start page links 50 ads, and every ad page waits until the test lets it
through, so what the page must show at each step is known: the log's first lines, then exactly three ads.
The chief starts the crawl, follows its log and figures live, and stops it; the crawl closes as ``stopped``
and the scheduler's run history records the manual run.  ``ADWATCH_SCREENSHOT_DIR=docs/img`` also saves the
README's screenshots of the monitor page and of a crawl's live log.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import REPO, CrawlRun, QuietHandler, local_server
from tests.dashboards.conftest import Console, browser_login, copy_crawl, serve_console
from tests.dashboards.test_console_e2e import _save_screenshot

ADS = 50
PROFILE = """name: gated
title: 受控测试站
group: test
district: 城东分局
base_url: {url}
start_urls: [/]
private_network: true
politeness: {{obey_robots: false, download_delay: 0, timeout: 120}}
follow:
  - allow: ['/ad/']
items:
  - name: ad
    url_pattern: '/ad/\\d+\\.html'
    fields:
      title: {{css: 'h1::text'}}
      body: {{css: 'p::text'}}
"""


class Gate:
    """Ad pages are answered one per permit the test gives; once ``closed``, waiting and later ones get a 404."""

    def __init__(self) -> None:
        self.permits = threading.Semaphore(0)
        self.shut = threading.Event()

    def let_through(self, count: int) -> None:
        for _ in range(count):
            self.permits.release()

    def admits(self) -> bool:
        """Wait for a permit; False once the gate is closed."""
        while not self.shut.is_set():
            if self.permits.acquire(timeout=0.2):
                return True
        return False

    def close(self) -> None:
        self.shut.set()


def _handler(gate: Gate) -> type[QuietHandler]:
    class GatedSite(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            if self.path == "/":
                links = "".join(f'<a href="/ad/{n}.html">{n}</a>' for n in range(1, ADS + 1))
                self.answer(200, f"<html><body>{links}</body></html>".encode(), "text/html; charset=utf-8")
                return
            if not self.path.startswith("/ad/") or not gate.admits():
                self.answer(404)
                return
            body = f"<html><body><h1>降糖茶{self.path}</h1><p>本品根治糖尿病，三天见效</p></body></html>"
            self.answer(200, body.encode(), "text/html; charset=utf-8")

    return GatedSite


@pytest.fixture
def gated_site(tmp_path: Path) -> Iterator[tuple[Path, Gate]]:
    """The gated site served locally, and a profile folder that points at it."""
    gate = Gate()
    with local_server(_handler(gate)) as url:
        profiles = tmp_path / "profiles"
        profiles.mkdir()
        (profiles / "gated.yaml").write_text(PROFILE.format(url=url), encoding="utf-8")
        try:
            yield profiles, gate
        finally:
            gate.close()


@pytest.fixture
def monitored(crawled: CrawlRun, tmp_path: Path, gated_site: tuple[Path, Gate]) -> Iterator[Console]:
    """The console over a copy of the session crawl (its sites' health), able to crawl the gated site."""
    profiles, _ = gated_site
    with serve_console(copy_crawl(crawled, tmp_path / "data"), "sqlite",
                       ADWATCH_PROFILE_DIRS=[str(profiles), str(REPO / "sandbox" / "profiles")],
                       ADWATCH_SCHEDULE_DIRS=[str(tmp_path / "no-plans")], ADWATCH_EVIDENCE_ENABLED=False,
                       ADWATCH_MONITOR_INTERVAL=0.2) as served:
        yield served


def _count(page: object, selector: str) -> int:
    return int(page.locator(selector).inner_text())  # type: ignore[attr-defined]


def test_a_crawl_started_watched_and_stopped_from_the_monitor_page(monitored: Console, browser: object,
                                                                    gated_site: tuple[Path, Gate]) -> None:
    _, gate = gated_site
    page = browser_login(browser, monitored, "chief1")
    page.goto(f"{monitored.url}/monitor")
    health = page.locator("#health").inner_text()
    assert "金石收藏网" in health and "正常" in health
    assert page.locator("#items-chart[data-rendered='1']").count() == 1

    # Start a crawl of the gated site: the page shows it running once the crawl reports.
    page.select_option("#start-site", "gated")
    page.click("#start")
    page.wait_for_selector("#crawls tr[data-state='running']", timeout=60_000)
    row = page.locator("#crawls tr[data-state='running']")
    assert "受控测试站" in row.inner_text()
    _save_screenshot(page, "monitor.png", monitored)
    page.locator("#items-chart").scroll_into_view_if_needed()
    _save_screenshot(page, "monitor-health.png", monitored)

    # Its live log: the crawl's own lines appear, and the figures follow the ads the site lets through.
    row.locator("a", has_text="日志").click()
    page.wait_for_url("**/monitor/runs/*")
    expect(page.locator("#log")).to_contain_text("运行监控 crawl monitor", timeout=60_000)
    assert _count(page, "#run-items") == 0
    gate.let_through(3)
    expect(page.locator("#run-items")).to_have_text("3", timeout=60_000)
    assert _count(page, "#run-pages") >= 4 and _count(page, "#run-hits") >= 3
    expect(page.locator("#log")).to_contain_text("进度 progress: 页面 pages 4 · 广告 items 3")
    _save_screenshot(page, "monitor-log.png", monitored)

    # Stop it from the page: once it has seen the request, the site answers its waiting pages with 404s, and the
    # crawl closes as stopped, with the ads it had; its log says so.
    page.click("#stop")
    expect(page.locator("#run-stats")).to_have_attribute("data-state", "stopping", timeout=60_000)
    gate.close()
    expect(page.locator("#log")).to_contain_text("Spider closed (stopped)", timeout=60_000)
    expect(page.locator("#run-stats")).to_have_attribute("data-state", "finished")
    assert "已手动停止" in page.locator("#run-stats").inner_text()
    with sqlite3.connect(monitored.db_path) as conn:
        monitor = conn.execute("SELECT status, finish_reason, items, stop_requested_by FROM crawl_monitor "
                               "WHERE site = 'gated'").fetchall()
        assert monitor == [("finished", "stopped", 3, "chief1")]
        stored = conn.execute("SELECT count(*) FROM ads WHERE site = 'gated'").fetchone()[0]
        assert stored == 3
    with sqlite3.connect(monitored.config.db_path) as conn:
        actions = [row[0] for row in conn.execute("SELECT action FROM audit_log WHERE actor = 'chief1'")]
        assert "crawl.start" in actions and "crawl.stop" in actions
    page.context.close()

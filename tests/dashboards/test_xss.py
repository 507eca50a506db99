"""Crawled content is hostile: payloads in titles, bodies, alt texts, URLs, seller names and reviewers' notes
are shown as text on every page, and no script of theirs runs — checked in a real browser, on both backends.

The console's Content-Security-Policy would stop inline scripts even if escaping failed, so each page is
also checked for the payloads' elements in the DOM: escaping itself must hold.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from indexer.sqlite import SqliteStore
from sandbox.catalog import XSS_PAYLOAD
from tests.conftest import CrawlRun
from tests.dashboards.conftest import BACKENDS, Console, browser_login, console_on, copy_crawl, csrf_of
from tests.dashboards.stores import CURE_CLAIM, checked_ad, write_raw_archive

SCRIPT = "<script>window.__xss=(window.__xss||[]).concat('script')</script>"
IMG = "<img src=x onerror=\"window.__xss=(window.__xss||[]).concat('img')\">"
SVG = "<svg/onload=window.__xss=(window.__xss||[]).concat('svg')>"
BREAKOUT = "\"><iframe srcdoc=\"<script>parent.__xss=['iframe']</script>\"></iframe>"
TEMPLATE = "{{ 7*7 }}{% raw %}"
MARKERS = "\ue000<b>标记</b>\ue001\ue000"
TITLE = f"根治糖尿病特效药{SCRIPT}"
SELLER = f"黑心药房{SVG}"
JS_URL = "javascript:window.__xss=['url']//根治"
INJECTED = "main script:not([type='application/json']), main img[src='x'], main svg, main iframe, main b"


@pytest.fixture(params=BACKENDS)
def hostile(request: pytest.FixtureRequest, crawled: CrawlRun, tmp_path: Path) -> Iterator[Console]:
    """The session crawl plus two hostile listings, checked by the real rule engine, on each backend."""
    data_dir = copy_crawl(crawled, tmp_path / "data")
    first = checked_ad("http://127.0.0.1:9/item/evil.html?q=<script>", "pharmacy", TITLE,
                       f"{CURE_CLAIM}{IMG}{TEMPLATE}{MARKERS}", "2026-11-11T01:00:00+00:00", seller=SELLER)
    first.image_alts = [BREAKOUT]
    second = checked_ad(JS_URL, "pharmacy", f"特效降糖{IMG}", f"{CURE_CLAIM}{BREAKOUT}", "2026-11-11T02:00:00+00:00",
                        seller=SELLER)
    assert first.hits and second.hits, "the rule engine flags the hostile listings"
    with SqliteStore(data_dir / "adwatch.db") as store:
        store.save_items([first, second])
    write_raw_archive(data_dir)  # what the listings' raw_ref points at: a transfer builds their evidence from it
    with console_on(request, data_dir, request.param) as served:
        yield served


def _hostile_hits(console: Console) -> list[str]:
    """The hits on the first hostile listing first, then the second's, then the sandbox's own XSS item's."""
    with sqlite3.connect(console.db_path) as conn:
        rows = conn.execute("""SELECT h.id FROM hits h JOIN ad_versions v ON v.id = h.version_id
                               WHERE v.seller = ? OR v.title LIKE ?
                               ORDER BY v.title != ?, v.seller != ?, h.id""",
                            (SELLER, f"%{XSS_PAYLOAD}%", TITLE, SELLER))
        return [row[0] for row in rows]


def _first_of_another_ad(console: Console, hits: list[str]) -> str:
    """The first of ``hits`` on another ad than the first of them."""
    with sqlite3.connect(console.db_path) as conn:
        ads = dict(conn.execute(f"SELECT id, ad_id FROM hits WHERE id IN ({', '.join('?' * len(hits))})", hits))
    return next(hit for hit in hits if ads[hit] != ads[hits[0]])


def _assert_inert(page: object, where: str) -> None:
    assert page.evaluate("window.__xss") is None, f"a payload ran on {where}"  # type: ignore[attr-defined]
    assert page.locator(INJECTED).count() == 0, f"a payload became an element on {where}"  # type: ignore[attr-defined]


def test_no_payload_runs_or_becomes_markup_anywhere(hostile: Console, browser: object) -> None:
    hits = _hostile_hits(hostile)
    assert len(hits) >= 3, "both hostile listings and the sandbox's own XSS item are flagged"
    with hostile.client("chief1") as chief:
        token = csrf_of(chief)
        note = {"note": f"备注{IMG}", "csrf_token": token}
        assert chief.post(f"/hits/{hits[0]}/decision", data={"action": "dismiss", "reason_code": "not_ad",
                                                             **note}).status_code == 303
        second_ad = _first_of_another_ad(hostile, hits)  # the dismissal above took every hit of the first
        assert chief.post(f"/hits/{second_ad}/transfer", data={"case_no": "稽-XSS-1", "inspector": "inspector1",
                                                               **note}).status_code == 303
    page = browser_login(browser, hostile, "chief1")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    pages = [f"/queue?status=&q={quote('根治糖尿病特效药')}", "/queue?status=&site=pharmacy",
             f"/search?q={quote('根治糖尿病')}", f"/search?q={quote('特效降糖')}", "/cases", "/cases/稽-XSS-1",
             "/rules/quality", "/audit", "/stats", *(f"/hits/{hit_id}" for hit_id in hits)]
    for path in pages:
        page.goto(hostile.url + path)
        page.wait_for_load_state("networkidle")
        _assert_inert(page, path)
    page.goto(f"{hostile.url}/hits/{hits[0]}")
    text = page.inner_text("main")
    for payload in (SCRIPT, IMG, SVG, TEMPLATE, "<b>标记</b>"):
        assert payload in text, f"{payload!r} is shown as text"
    assert page.locator("#source-link").get_attribute("href") != JS_URL
    page.goto(f"{hostile.url}/queue?status=&q={quote('特效降糖')}")
    page.locator("#queue a.hit-link").first.click()
    page.wait_for_load_state()
    assert page.locator("#source-link").get_attribute("href") == "#"
    page.locator("#source-link").click()
    _assert_inert(page, "the javascript: link")
    assert dialogs == []
    page.context.close()


def test_the_sandbox_xss_listing_is_escaped_in_the_raw_html(hostile: Console) -> None:
    hits = _hostile_hits(hostile)
    with hostile.client("reviewer1") as client:
        for hit_id in hits:
            html = client.get(f"/hits/{hit_id}").text
            assert SCRIPT not in html and IMG not in html and SVG not in html and XSS_PAYLOAD not in html
        html = client.get(f"/hits/{hits[0]}").text
        assert "&lt;script&gt;" in html

"""A working day in the console, in Debian's Chromium, on the SQLite store and on OpenSearch.

A reviewer filters the queue, confirms one hit, dismisses one with a reason and
asks for a transfer; the chief approves it, exports the case's evidence and the
monthly sheet, whose figures are checked against the store; the inspection
corps sees the case.  ``ADWATCH_SCREENSHOT_DIR=docs/img`` also saves the
README's screenshots (from the SQLite run).
"""

from __future__ import annotations

import os
import sqlite3
import zipfile
from pathlib import Path

from openpyxl import load_workbook

from evidence.verify import verify_bundle
from tests.dashboards.conftest import Console, browser_login

CASE_NO = "稽-2026-0099"


def _sql(console: Console, query: str, *params: object) -> list[tuple]:
    with sqlite3.connect(console.db_path) as conn:
        return conn.execute(query, params).fetchall()


def _current_pending(console: Console, category: str) -> int:
    return _sql(console, """SELECT count(*) FROM hits h JOIN ads a ON a.current_version = h.version_id
                            WHERE h.category = ? AND h.review_status = 'pending'""", category)[0][0]


def _save_screenshot(page: object, name: str, console: Console) -> None:
    folder = os.environ.get("ADWATCH_SCREENSHOT_DIR")
    if folder and console.backend == "sqlite":
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=False)  # type: ignore[attr-defined]


def _open_row(page: object, index: int) -> str:
    """Open the queue's ``index``-th hit; returns its id."""
    link = page.locator("#queue a.hit-link").nth(index)  # type: ignore[attr-defined]
    hit_id = link.get_attribute("href").rsplit("/", 1)[1]
    link.click()
    page.wait_for_url(f"**/hits/{hit_id}")  # type: ignore[attr-defined]
    return hit_id


def test_review_day_end_to_end(console: Console, browser: object, tmp_path: Path) -> None:
    page = browser_login(browser, console, "reviewer1")
    assert page.url.endswith("/queue")

    # Filter: health food, pending (the default status).
    page.select_option("select[name=category]", "health_food")
    page.click("#apply-filters")
    page.wait_for_url("**/queue?*category=health_food*")
    expected = _current_pending(console, "health_food")
    assert expected > 0
    assert page.locator("h1").inner_text().find(f"共 {expected} 条") >= 0
    categories = page.locator("#queue tbody tr td:nth-child(5)").all_inner_texts()
    assert categories and set(categories) == {"保健食品"}
    _save_screenshot(page, "console-queue.png", console)

    # Open the riskiest hit: its text is marked at the hit, with the legal basis beside it.
    confirmed = _open_row(page, 0)
    matched = _sql(console, "SELECT matched, article FROM hits WHERE id = ?", confirmed)[0]
    assert matched[0] in "".join(page.locator("#ad-text mark.hit.on").all_inner_texts())
    assert matched[1] in page.locator("#hit-list").inner_text()
    page.click("#confirm")
    page.wait_for_load_state()
    assert "已确认" in page.locator("#review-status").inner_text()
    assert _sql(console, "SELECT review_status, reviewer FROM hits WHERE id = ?", confirmed)[0] == \
        ("confirmed", "reviewer1")

    # Back to the queue: the confirmed hit has left the pending list; dismiss the next one with a reason.
    page.goto(f"{console.url}/queue?category=health_food")
    assert confirmed not in page.content()
    dismissed = _open_row(page, 0)
    page.select_option("#reason", "exempt_guide")
    page.click("#dismiss")
    page.wait_for_load_state()
    assert _sql(console, "SELECT review_status, review_reason FROM hits WHERE id = ?", dismissed)[0] == \
        ("dismissed", "属于执法指南豁免情形")

    # A collectibles hit (its page has an evidence package): ask for a transfer to the inspection corps.
    page.goto(f"{console.url}/queue?site=collect")
    transferred = _open_row(page, 0)
    assert page.locator("#screenshot").evaluate("img => img.complete && img.naturalWidth > 0")
    _save_screenshot(page, "console-detail.png", console)
    page.fill("#case-no", CASE_NO)
    page.fill("#inspector", "王稽查")
    page.click("#transfer")
    page.wait_for_load_state()
    assert "待批准" in page.content() and "提请移送" in page.locator("#review").inner_text()
    page.context.close()

    # The chief approves the transfer, exports the case and the monthly sheet.
    chief = browser_login(browser, console, "chief1")
    chief.goto(f"{console.url}/cases")
    row = chief.locator(f"tr[data-case='{CASE_NO}']")
    row.locator("button", has_text="批准移送").click()
    chief.wait_for_load_state()
    assert "已移送" in chief.locator(f"tr[data-case='{CASE_NO}']").inner_text()
    assert _sql(console, "SELECT review_status FROM hits WHERE id = ?", transferred)[0][0] == "transferred"
    with chief.expect_download() as download_info:
        chief.locator(f"tr[data-case='{CASE_NO}'] a", has_text="导出证据包").click()
    bundle = tmp_path / "case.zip"
    download_info.value.save_as(bundle)
    verification = verify_bundle(bundle, allow_unsigned=True)  # the console exports unsigned unless a key is set
    assert verification.ok, verification.problems
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        assert "report.pdf" in names and any(name.endswith(".wacz") for name in names)
        assert transferred in archive.read("index.csv").decode("utf-8-sig")

    month = _sql(console, "SELECT substr(date(min(fetched_at), '+8 hours'), 1, 7) FROM ad_versions")[0][0]
    chief.goto(f"{console.url}/reports?month={month}")
    with chief.expect_download() as download_info:
        chief.click("#download-xlsx")
    sheet_path = tmp_path / "monthly.xlsx"
    download_info.value.save_as(sheet_path)
    _check_monthly_sheet(console, sheet_path, month)
    chief.context.close()

    # The inspection corps sees the approved case and nothing of the queue.
    inspector = browser_login(browser, console, "inspector1")
    assert inspector.url.endswith("/cases")
    assert CASE_NO in inspector.content()
    inspector.goto(f"{console.url}/queue")
    assert "无权" in inspector.content()
    inspector.context.close()


def _label_values(sheet: object) -> dict[str, list]:
    """Every row of the sheet keyed by its first cell (a label), with the numbers after it."""
    rows = {}
    for row in sheet.iter_rows(values_only=True):  # type: ignore[attr-defined]
        if row and isinstance(row[0], str):
            rows.setdefault(row[0], list(row[1:]))
    return rows


def _check_monthly_sheet(console: Console, path: Path, month: str) -> None:
    book = load_workbook(path)
    sheet = book.active
    transfers = list(book["移送案件明细"].iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in transfers] == [CASE_NO] and transfers[0][7] == "王稽查"
    assert f"{int(month[:4])}年{int(month[5:])}月" in sheet["A1"].value
    in_month = ("FROM hits h JOIN ad_versions v ON v.id = h.version_id "
                "WHERE substr(date(v.fetched_at, '+8 hours'), 1, 7) = ?")
    status = dict(_sql(console, f"SELECT h.review_status, count(*) {in_month} GROUP BY h.review_status", month))
    total = sum(status.values())
    rows = _label_values(sheet)
    assert rows["发现涉嫌违法线索（条）"][0] == total > 0
    assert rows["确认违法（条）"][0] == status.get("confirmed", 0) + status.get("transferred", 0) == 2
    assert rows["排除（条）"][0] == status.get("dismissed", 0) == 1
    assert rows["待审核（条）"][0] == status.get("pending", 0) == total - 3
    assert rows["移送稽查案件数（件）"][0] == 1
    pages = _sql(console, "SELECT coalesce(sum(pages), 0) FROM crawl_runs "
                          "WHERE substr(date(started_at, '+8 hours'), 1, 7) = ?", month)
    assert rows["监测网页数（页次）"][0] == pages[0][0] > 0
    health_food = _sql(console, f"SELECT count(*) {in_month} AND h.category = 'health_food'", month)[0][0]
    assert rows["保健食品"][0] == health_food
    assert rows["合计"][0] == total

"""A working day in the console, in Debian's Chromium, on the SQLite store and on OpenSearch and Elasticsearch.

The queue has one row per flagged ad.  A reviewer filters it, dismisses one hit of an ad on its own and confirms
the rest of the ad, dismisses another ad with a reason and asks for the transfer of a third and a fourth; the chief
approves the first request and returns the second with a reason, which the reviewer then reads; the chief
exports the case's evidence (a Chinese file name) and the monthly sheet, whose ad counts are checked against the
store, and reads the audit log in Chinese with people by name; the inspector of the case sees it and records a
处置 (责令整改) with its document number.
``ADWATCH_SCREENSHOT_DIR=docs/img`` also saves the README's screenshots (from the SQLite run).
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
RETURNED_NO = "稽-2026-0100"


def _sql(console: Console, query: str, *params: object) -> list[tuple]:
    with sqlite3.connect(console.db_path) as conn:
        return conn.execute(query, params).fetchall()


def _flagged_ads(console: Console, category: str) -> int:
    """Ads with a current hit of ``category``: the queue's rows for it before anyone decides."""
    return _sql(console, """SELECT count(DISTINCT h.ad_id) FROM hits h JOIN ads a ON a.current_version = h.version_id
                            WHERE h.category = ?""", category)[0][0]


def _statuses(console: Console, hit_id: str) -> dict[str, str]:
    """Each hit of the ad (version) of ``hit_id``: its review status."""
    return dict(_sql(console, """SELECT id, review_status FROM hits WHERE version_id =
                                 (SELECT version_id FROM hits WHERE id = ?)""", hit_id))


def _save_screenshot(page: object, name: str, console: Console) -> None:
    folder = os.environ.get("ADWATCH_SCREENSHOT_DIR")
    if folder and console.backend == "sqlite":
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=False)  # type: ignore[attr-defined]


def _open_row(page: object, row: object) -> str:
    """Open the queue's ``row`` (an ad); returns the id it is opened by."""
    link = row.locator("a.hit-link")  # type: ignore[attr-defined]
    hit_id = link.get_attribute("href").rsplit("/", 1)[1]
    link.click()
    page.wait_for_url(f"**/hits/{hit_id}")  # type: ignore[attr-defined]
    return hit_id


def _row(page: object, index: int = 0) -> object:
    return page.locator("#queue tbody tr").nth(index)  # type: ignore[attr-defined]


def test_review_day_end_to_end(console: Console, browser: object, tmp_path: Path) -> None:
    page = browser_login(browser, console, "reviewer1")
    assert page.url.endswith("/queue")

    # Filter: health food, pending (the default status): one row per ad.
    page.select_option("select[name=category]", "health_food")
    page.click("#apply-filters")
    page.wait_for_url("**/queue?*category=health_food*")
    expected = _flagged_ads(console, "health_food")
    assert expected > 0
    assert f"共 {expected} 条广告" in page.locator("h1").inner_text()
    categories = page.locator("#queue tbody tr td:nth-child(6)").all_inner_texts()
    assert categories and all("保健食品" in cell for cell in categories)
    _save_screenshot(page, "console-queue.png", console)

    # An ad with several hits: its text is marked at each; one hit is dismissed on its own, the ad confirmed.
    counts = [int(n) for n in page.locator("#queue td.hit-count").all_inner_texts()]
    several = next(i for i, n in enumerate(counts) if n > 1)
    opened = _open_row(page, _row(page, several))
    hits = page.locator("#hit-list tbody tr")
    assert hits.count() == counts[several]
    matched = _sql(console, "SELECT matched, article FROM hits WHERE id = ?", opened)[0]
    assert matched[0] in "".join(page.locator("#ad-text mark.hit").all_inner_texts())
    assert matched[1] in page.locator("#hit-list").inner_text()
    overridden = hits.nth(1).get_attribute("data-hit")
    hits.nth(1).locator("select[name=reason_code]").select_option("false_match")
    hits.nth(1).locator("button.override-dismiss").click()
    page.wait_for_load_state()
    assert "单项决定" in page.locator(f"#hit-list tr[data-hit='{overridden}']").inner_text()
    page.click("#confirm")
    page.wait_for_load_state()
    review = page.locator("#review-status").inner_text()
    assert "已确认" in review and "张三" in review
    statuses = _statuses(console, opened)
    assert statuses[overridden] == "dismissed"
    assert sorted(set(statuses.values())) == ["confirmed", "dismissed"]
    history = page.locator("#decision-history").inner_text()
    assert "排除" in history and "确认违法" in history and "整条广告" in history and "张三" in history
    _save_screenshot(page, "console-ad.png", console)

    # Back to the queue: the confirmed ad has left the pending list; dismiss the next ad with a reason.
    page.goto(f"{console.url}/queue?category=health_food")
    assert f"/hits/{opened}" not in page.content()
    assert f"共 {expected - 1} 条广告" in page.locator("h1").inner_text()
    dismissed = _open_row(page, _row(page))
    page.select_option("#reason", "exempt_guide")
    page.click("#dismiss")
    page.wait_for_load_state()
    assert set(_sql(console, """SELECT review_status, review_reason FROM hits WHERE version_id =
                                (SELECT version_id FROM hits WHERE id = ?)""", dismissed)) == \
        {("dismissed", "属于执法指南豁免情形")}

    # A collectibles ad (its page has an evidence package): ask for a transfer to the inspection corps.
    page.goto(f"{console.url}/queue?site=collect")
    transferred = _open_row(page, _row(page))
    assert page.locator("#screenshot").evaluate("img => img.complete && img.naturalWidth > 0")
    _save_screenshot(page, "console-detail.png", console)
    page.fill("#case-no", CASE_NO)
    page.select_option("#inspector", label="王稽查")  # 承办: an inspector's account, by name
    page.click("#transfer")
    page.wait_for_load_state()
    assert "待批准" in page.content() and "提请移送" in page.locator("#review").inner_text()
    assert "承办：王稽查" in page.locator("#case").inner_text()
    # A second request, which the chief will return.
    page.goto(f"{console.url}/queue?site=collect")
    returned = _open_row(page, _row(page))
    page.fill("#case-no", RETURNED_NO)
    page.select_option("#inspector", label="王稽查")
    page.click("#transfer")
    page.wait_for_load_state()
    page.context.close()

    # The chief approves the transfer and returns the other, exports the case and the monthly sheet.
    chief = browser_login(browser, console, "chief1")
    chief.goto(f"{console.url}/cases")
    row = chief.locator(f"tr[data-case='{CASE_NO}']")
    row.locator("button", has_text="批准移送").click()
    chief.wait_for_load_state()
    chief.locator(f"tr[data-case='{RETURNED_NO}'] input[name=note]").fill("请补充取证")
    chief.locator(f"tr[data-case='{RETURNED_NO}'] button", has_text="退回").click()
    chief.wait_for_load_state()
    assert "已退回" in chief.locator(f"tr[data-case='{RETURNED_NO}']").inner_text()
    assert "已移送" in chief.locator(f"tr[data-case='{CASE_NO}']").inner_text()
    case_hits = _statuses(console, transferred)
    assert set(case_hits.values()) == {"transferred"}  # every hit of the ad
    with chief.expect_download() as download_info:
        chief.locator(f"tr[data-case='{CASE_NO}'] a", has_text="导出证据包").click()
    assert download_info.value.suggested_filename == f"案件-{CASE_NO}.zip"
    bundle = tmp_path / "case.zip"
    download_info.value.save_as(bundle)
    verification = verify_bundle(bundle, allow_unsigned=True)  # the console exports unsigned unless a key is set
    assert verification.ok, verification.problems
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        assert "report.pdf" in names and any(name.endswith(".wacz") for name in names)
        index = archive.read("index.csv").decode("utf-8-sig")
        assert all(hit_id in index for hit_id in case_hits)

    month = _sql(console, "SELECT substr(date(min(fetched_at), '+8 hours'), 1, 7) FROM ad_versions")[0][0]
    chief.goto(f"{console.url}/reports?month={month}")
    _save_screenshot(chief, "console-report.png", console)
    with chief.expect_download() as download_info:
        chief.click("#download-xlsx")
    assert download_info.value.suggested_filename == f"专项行动情况统计表-{month}.xlsx"
    sheet_path = tmp_path / "monthly.xlsx"
    download_info.value.save_as(sheet_path)
    _check_monthly_sheet(console, sheet_path, month)

    # The audit log speaks Chinese and names people.
    chief.goto(f"{console.url}/audit")
    audit = chief.locator("#audit").inner_text()
    for words in ("确认违法（整条广告）", "排除（单项命中）", "排除（整条广告）", "提请移送稽查", "批准移送",
                  "导出证据包", "张三", "李科长"):
        assert words in audit, words
    assert "ad.confirm" not in audit and "reviewer1" not in audit
    chief.context.close()

    # The reviewer sees the return and its reason, under 我的退回 and on the ad's page.
    reviewer = browser_login(browser, console, "reviewer1")
    reviewer.click("nav a:has-text('我的退回')")
    reviewer.wait_for_url("**/returns")
    listed = reviewer.locator(f"#returns tr[data-case='{RETURNED_NO}']").inner_text()
    assert "请补充取证" in listed and "李科长" in listed
    reviewer.locator(f"#returns tr[data-case='{RETURNED_NO}'] a").click()
    reviewer.wait_for_url(f"**/hits/{returned}")
    assert "请补充取证" in reviewer.locator("#returned").inner_text()
    reviewer.context.close()

    # The inspection corps sees the approved case and nothing of the queue.
    inspector = browser_login(browser, console, "inspector1")
    assert inspector.url.endswith("/cases")
    assert CASE_NO in inspector.content()
    # The inspector it is assigned to records what was done: 责令整改 with its document number.
    inspector.goto(f"{console.url}/cases/{CASE_NO}")
    inspector.select_option("#dispose-kind", "rectify")
    inspector.fill("#dispose-document", "滨市监责改〔2026〕8号")
    inspector.click("#dispose")
    inspector.wait_for_load_state()
    recorded = inspector.locator("#dispositions").inner_text()
    assert "责令整改" in recorded and "滨市监责改〔2026〕8号" in recorded and "王稽查" in recorded
    _save_screenshot(inspector, "console-case.png", console)
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
    ads, hits = _sql(console, f"SELECT count(DISTINCT h.ad_id), count(DISTINCT h.version_id || h.rule_id) {in_month}",
                     month)[0]
    findings_only = _sql(console, f"""SELECT count(DISTINCT h.ad_id) {in_month} AND h.ad_id NOT IN
                                      (SELECT ad_id FROM hits WHERE rule_id NOT LIKE 'market-%')""", month)[0][0]
    rows = _label_values(sheet)
    assert rows["违法广告条数（条）"][0] == ads - findings_only > 0  # every ad an ad rule flags, once
    assert rows["其他违法线索（条，侵权假冒、刷单炒信等）"][0] == findings_only  # #20's findings alone
    assert rows["命中（项）"][0] == hits > ads
    # The ad confirmed (one hit of it dismissed), the ad transferred and the ad whose request was returned.
    assert rows["确认违法（条）"][0] == 3
    assert rows["排除（条）"][0] == 1
    assert rows["待审核（条）"][0] == ads - 4
    assert rows["移送稽查案件数（件）"][0] == 1
    pages = _sql(console, "SELECT coalesce(sum(pages), 0) FROM crawl_runs "
                          "WHERE substr(date(started_at, '+8 hours'), 1, 7) = ?", month)
    assert rows["监测网页数（页次）"][0] == pages[0][0] > 0
    health_food = _sql(console, f"SELECT count(DISTINCT h.ad_id) {in_month} AND h.category = 'health_food'", month)
    assert rows["保健食品"][0] == health_food[0][0]
    assert rows["合计（不重复）"][0] == ads

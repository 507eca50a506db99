"""The reviewer's pages over HTTP, on the sandbox crawl: the queue of ads and its filters, assignment, search,
statistics and the CSV."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from urllib.parse import quote

from dashboards.services import Sites
from tests.dashboards.conftest import Console, browser_login, csrf_of

ROW_SITE = re.compile(r'<tr data-hit="([0-9a-f]+)" data-ad="[0-9a-f]+">')


def _sql(console: Console, query: str, *params: object) -> list[tuple]:
    with sqlite3.connect(console.db_path) as conn:
        return conn.execute(query, params).fetchall()


def _total(html: str) -> int:
    return int(re.search(r"共 (\d+) 条广告", html).group(1))


CURRENT = "FROM hits h JOIN ads a ON a.current_version = h.version_id"
#: Ads with a hit on their current version: the queue's rows.
FLAGGED_ADS = f"SELECT count(DISTINCT h.ad_id) {CURRENT}"


def test_the_queue_has_one_row_per_flagged_ad(sqlite_console: Console) -> None:
    with sqlite_console.client("reviewer1") as client:
        html = client.get("/queue").text
    ads = _sql(sqlite_console, FLAGGED_ADS)[0][0]
    hits = _sql(sqlite_console, f"SELECT count(DISTINCT h.version_id || h.rule_id) {CURRENT}")[0][0]
    assert 0 < ads < hits
    assert _total(html) == ads and f"（{hits} 项命中）" in html


def test_the_district_filter_shows_only_that_bureaus_sites(sqlite_console: Console) -> None:
    with sqlite_console.client("reviewer1") as client:
        html = client.get("/queue?status=&district=" + quote("城西分局")).text
    district = Sites.from_profiles(sqlite_console.config.base.profile_dirs).in_district("城西分局")
    expected = _sql(sqlite_console, f"{FLAGGED_ADS} WHERE h.site IN ({', '.join('?' * len(district))})",
                    *district)[0][0]
    assert expected > 0 and _total(html) == expected
    assert "颐康健康商城" not in html.split('<table id="queue">', 1)[1]


def test_a_chief_assigns_ads_and_the_reviewer_finds_them_under_me(sqlite_console: Console) -> None:
    with sqlite_console.client("chief1") as chief:
        page = chief.get("/queue?site=collect").text
        ids = ROW_SITE.findall(page)[:3]
        form = {"action": "assign", "assignee": "reviewer1", "hit_id": ids, "csrf_token": csrf_of(chief),
                "back": "site=collect"}
        assert chief.post("/queue/bulk", data=form).status_code == 303
    with sqlite_console.client("reviewer1") as reviewer:
        mine = reviewer.get("/queue?assignee=me").text
        assert _total(mine) == 3 and set(ROW_SITE.findall(mine)) == set(ids)
        form = {"action": "assign", "assignee": "reviewer1", "hit_id": ids, "csrf_token": csrf_of(reviewer)}
        assert reviewer.post("/queue/bulk", data=form).status_code == 403


def test_bulk_dismissal_needs_a_reason_and_records_it(sqlite_console: Console) -> None:
    with sqlite_console.client("reviewer1") as client:
        ids = ROW_SITE.findall(client.get("/queue?site=news").text)[:2]
        token = csrf_of(client)
        refused = client.post("/queue/bulk", data={"action": "dismiss", "hit_id": ids, "csrf_token": token})
        assert refused.status_code == 409
        done = client.post("/queue/bulk", data={"action": "dismiss", "hit_id": ids, "reason_code": "not_ad",
                                                "csrf_token": token})
        assert done.status_code == 303
    rows = _sql(sqlite_console, f"""SELECT DISTINCT review_status, review_reason FROM hits WHERE ad_id IN
                                   (SELECT ad_id FROM hits WHERE id IN ('{ids[0]}', '{ids[1]}'))""")
    assert rows == [("dismissed", "非广告")]  # every hit of both ads


def test_a_returned_transfer_shows_its_reason_to_the_reviewer(sqlite_console: Console) -> None:
    with sqlite_console.client("reviewer1") as reviewer:
        [hit_id] = ROW_SITE.findall(reviewer.get("/queue?site=news").text)[:1]
        assert reviewer.post(f"/hits/{hit_id}/transfer", data={"case_no": "稽-2026-0042", "inspector": "inspector1",
                                                              "note": "证据齐全", "csrf_token": csrf_of(reviewer)}
                             ).status_code == 303
    with sqlite_console.client("chief1") as chief:
        assert chief.post(f"/cases/{quote('稽-2026-0042')}/reject",
                          data={"note": "请补充取证", "csrf_token": csrf_of(chief)}).status_code == 303
    with sqlite_console.client("reviewer1") as reviewer:
        returns = reviewer.get("/returns").text
        ad_page = reviewer.get(f"/hits/{hit_id}").text
    assert "稽-2026-0042" in returns and "请补充取证" in returns and "李科长" in returns and "证据齐全" in returns
    assert 'id="returned"' in ad_page and "请补充取证" in ad_page


def test_queue_text_search_highlights_and_pages(sqlite_console: Console) -> None:
    with sqlite_console.client("reviewer1") as client:
        first = client.get("/queue?status=&q=" + quote("治疗")).text
        total = _total(first)
        assert total > 50 and "<mark>治疗</mark>" in first
        second = client.get("/queue?status=&q=" + quote("治疗") + "&page=2").text
        assert not set(ROW_SITE.findall(first)) & set(ROW_SITE.findall(second))
        assert "第 2 /" in second


def test_search_finds_ads_that_were_never_flagged(sqlite_console: Console) -> None:
    unflagged = _sql(sqlite_console, """SELECT v.title FROM ads a JOIN ad_versions v ON v.id = a.current_version
                                        WHERE NOT EXISTS (SELECT 1 FROM hits h WHERE h.version_id = v.id)
                                        AND a.site = 'news' AND length(v.title) > 6 LIMIT 1""")[0][0]
    with sqlite_console.client("reviewer1") as client:
        html = client.get("/search?q=" + quote(f'"{unflagged}"')).text
    assert "共 " in html and unflagged in html and "没有找到" not in html


def test_the_csv_holds_every_hit_of_the_filters_ads(sqlite_console: Console) -> None:
    with sqlite_console.client("reviewer1") as client:
        response = client.get("/export/queue.csv?status=&site=pharmacy")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["命中编号", "风险分", "网站"]
    expected = _sql(sqlite_console, f"SELECT count(DISTINCT h.version_id || h.rule_id) {CURRENT} "
                                    "WHERE h.site = 'pharmacy'")[0][0]
    assert len(rows) - 1 == expected > 0
    assert response.headers["content-disposition"].endswith("filename*=UTF-8''%E5%BE%85%E5%AE%A1%E9%98%9F%E5%88%97.csv")


def test_statistics_draw_their_charts_in_the_browser(sqlite_console: Console, browser: object) -> None:
    page = browser_login(browser, sqlite_console, "reviewer1")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{sqlite_console.url}/stats")
    page.wait_for_load_state("networkidle")
    charts = page.locator("[data-chart]")
    assert charts.count() == 4
    for index in range(4):
        assert charts.nth(index).get_attribute("data-rendered") == "1"
        assert charts.nth(index).locator("canvas").count() >= 1
    assert errors == []
    page.context.close()


def test_a_listings_price_history_is_charted_on_its_detail_page(sqlite_console: Console, browser: object) -> None:
    [(hit_id, observations)] = _sql(sqlite_console, """
        SELECT h.id, (SELECT count(*) FROM price_observations o WHERE o.ad_id = h.ad_id) AS n
        FROM hits h JOIN ads a ON a.current_version = h.version_id WHERE n > 0 ORDER BY h.id LIMIT 1""")
    assert observations >= 1
    page = browser_login(browser, sqlite_console, "reviewer1")
    page.goto(f"{sqlite_console.url}/hits/{hit_id}")
    page.wait_for_load_state("networkidle")
    chart = page.locator("[data-chart=prices]")
    assert chart.get_attribute("data-rendered") == "1" and chart.locator("canvas").count() >= 1
    page.context.close()


def test_a_month_with_a_trailing_newline_is_refused_not_a_dropped_connection(sqlite_console: Console) -> None:
    """#19: ``?month=2026-11%0A`` passed the check and broke the download's header; the server dropped the line."""
    with sqlite_console.client("chief1") as chief:
        for path in ("/reports/monthly.xlsx?month=2026-11%0A", "/reports?month=2026-11%0A"):
            response = chief.get(path)
            assert response.status_code == 400 and "月份格式" in response.text
        assert chief.get("/reports/monthly.xlsx?month=2026-11").status_code == 200

"""Monthly figures, the monthly 专项行动情况统计表 (.xlsx) and the queue's CSV download.

The sheet counts ads (违法广告条数) with their hits (one rule on an ad's version is one hit) beside them.
Ads and hits are also counted independently, with SQL on the store, and the numbers are spelled out so
that a reader sees what the month holds.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from openpyxl import load_workbook

from dashboards.accounts import User
from dashboards.exports import monthly_workbook, queue_csv
from dashboards.queue import QueueFilter
from dashboards.services import Services
from dashboards.stats import COLUMNS, monthly_figures
from tests.dashboards.stores import (
    CURE_CLAIM,
    HARMLESS,
    SUPERLATIVE,
    add_price_hits,
    add_user,
    checked_ad,
    open_services,
    save,
)

REVIEWER = User("rev", "审核员甲", "reviewer", True)
CHIEF = User("boss", "王科长", "chief", True)
HEALTH_FOOD_CLAIM = "本保健食品可以治疗高血压，药到病除"

#: Article-key prefix → the focus area it counts under, as the shipped console.yaml says (spelled out here).
FOCUS_OF_PREFIX = {"广告法": "虚假宣传与违法广告", "广告审查暂行办法": "虚假宣传与违法广告",
                   "明码标价和禁止价格欺诈规定": "其他违法行为"}
#: Category key → its label on the sheet, for the categories this month holds.
CATEGORY_LABEL = {"general": "一般商品", "health_food": "保健食品"}


@dataclass
class Month:
    services: Services
    cure: list[str]  # 2026-11-05, healthfood: 3 places, 2 hits (广告法第十七条, general)
    health_food: list[str]  # 2026-11-18, healthfood: 5 hits (health_food)
    last_day: list[str]  # 2026-11-30 23:30 Beijing time (15:30 UTC), mall: 2 places, 1 hit (广告法第九条)
    price: list[str]  # 2026-11-12, mall: 1 price hit (明码标价和禁止价格欺诈规定第十九条)
    october: list[str]  # 2026-10-31, healthfood: 2 ads of 3 places, 2 hits each
    december: list[str]  # 2026-12-01 00:30 Beijing time (2026-11-30 16:30 UTC), mall: 2 places, 1 hit


def set_approved_at(services: Services, case_no: str, at: str) -> None:
    """Pin a case's approval time (it is 'now' when approved) so the month it counts in is known."""
    services.db.conn.execute("UPDATE cases SET approved_at = ? WHERE case_no = ?", (at, case_no))


@pytest.fixture
def month(tmp_path: Path) -> Iterator[Month]:
    with open_services(tmp_path) as services:
        store = services.store
        cure = save(store, checked_ad("http://healthfood.test/item/1.html", "healthfood", "糖友神药", CURE_CLAIM,
                                      "2026-11-05T02:00:00+00:00"))
        health_food = save(store, checked_ad("http://healthfood.test/item/2.html", "healthfood", "保健品",
                                             HEALTH_FOOD_CLAIM, "2026-11-18T09:00:00+00:00"))
        last_day = save(store, checked_ad("http://mall.test/item/3.html", "mall", "纯棉T恤", SUPERLATIVE,
                                          "2026-11-30T15:30:00+00:00"))
        save(store, checked_ad("http://mall.test/item/5.html", "mall", "纯棉T恤", HARMLESS,
                               "2026-11-20T02:00:00+00:00"))
        price = add_price_hits(store, "http://mall.test/item/4.html", "mall", "2026-11-12T02:00:00+00:00")
        october = save(store, checked_ad("http://healthfood.test/item/9.html", "healthfood", "糖友神药", CURE_CLAIM,
                                         "2026-10-31T10:00:00+00:00"))
        october += save(store, checked_ad("http://healthfood.test/item/8.html", "healthfood", "糖友神药二代",
                                          CURE_CLAIM, "2026-10-31T11:00:00+00:00"))
        december = save(store, checked_ad("http://mall.test/item/10.html", "mall", "纯棉T恤", SUPERLATIVE,
                                          "2026-11-30T16:30:00+00:00"))
        assert (len(cure), len(health_food), len(last_day), len(price)) == (3, 5, 2, 1)

        add_user(services, "cop", "inspector", "稽查乙")
        workflow = services.workflow
        workflow.decide(REVIEWER, cure[0], "confirm")
        workflow.decide(REVIEWER, cure[1], "dismiss", "false_match")  # the same hit (rule) as cure[0]: overruled
        workflow.request_transfer(CHIEF, cure[2], "A-2026-011", "cop")  # approved at once: the ad transferred
        set_approved_at(services, "A-2026-011", "2026-11-20T03:00:00+00:00")
        workflow.decide(REVIEWER, health_food[0], "dismiss", "not_ad")
        workflow.request_transfer(REVIEWER, health_food[1], "A-2026-012", "cop")  # awaits approval: the ad confirmed
        workflow.decide(REVIEWER, last_day[0], "confirm")
        workflow.decide(REVIEWER, october[0], "confirm")
        workflow.decide(REVIEWER, december[0], "dismiss", "duplicate")
        # Cases count in the month (Beijing time) they were approved, whenever their hit was found.
        workflow.request_transfer(CHIEF, october[1], "A-2026-010", "cop")
        set_approved_at(services, "A-2026-010", "2026-11-10T01:00:00+00:00")
        workflow.request_transfer(CHIEF, october[3], "A-2026-013", "cop")
        set_approved_at(services, "A-2026-013", "2026-11-30T17:00:00+00:00")  # 2026-12-01 01:00 in Beijing

        for site, started, pages in (("healthfood", "2026-11-05T02:00:00+00:00", 40),
                                     ("mall", "2026-11-12T02:00:00+00:00", 25),
                                     ("mall", "2026-11-30T15:00:00+00:00", 10),
                                     ("mall", "2026-11-30T16:10:00+00:00", 3),  # 2026-12-01 00:10 in Beijing
                                     ("pharmacy", "2026-10-31T10:00:00+00:00", 99),
                                     ("news", "2026-12-01T00:10:00+00:00", 7)):
            store.record_run({"site": site, "started_at": started, "finished_at": started, "finish_reason": "finished",
                              "pages": pages, "items": pages, "new_versions": 1, "unchanged": 0, "hits": 1,
                              "errors": 0})
        yield Month(services, cure, health_food, last_day, price, october, december)


def counted_in(services: Services, day_from: str, day_to: str) -> tuple[int, int]:
    """(ads, hits) found (fetched, Beijing day) in the period, in SQL: an ad once, a rule on a version once."""
    row = services.store.conn.execute(
        """SELECT count(DISTINCT h.ad_id), count(DISTINCT h.version_id || ' ' || h.rule_id) FROM hits h
           JOIN ad_versions v ON v.id = h.version_id
           WHERE date(v.fetched_at, '+8 hours') BETWEEN ? AND ?""", (day_from, day_to)).fetchone()
    return row[0], row[1]


def ads(ads: int, hits: int, confirmed: int = 0, transferred: int = 0, dismissed: int = 0,
        pending: int = 0) -> dict[str, int]:
    """A row of the sheet: ads by status (confirmed includes transferred), and their hits."""
    return {"ads": ads, "confirmed": confirmed, "transferred": transferred, "dismissed": dismissed,
            "pending": pending, "hits": hits}


#: November: the cure ad transferred (its 2 hits: one dismissed, one transferred), the health-food ad confirmed
#: (5 hits, one dismissed, 4 awaiting transfer), the last day's T-shirt confirmed (1 hit), the price ad pending.
NOVEMBER = ads(4, 9, confirmed=3, transferred=1, pending=1)


# --- monthly figures ---


def test_monthly_totals_count_the_ads_found_in_the_month(month: Month) -> None:
    figures = monthly_figures(month.services, "2026-11")

    assert (figures.day_from, figures.day_to) == ("2026-11-01", "2026-11-30")
    assert figures.totals == NOVEMBER
    assert (figures.totals["ads"], figures.totals["hits"]) == counted_in(month.services, "2026-11-01", "2026-11-30")
    assert (figures.flagged_sites, figures.advertisers) == (2, 2)  # healthfood and mall, one 某商家 on each


def test_ads_found_outside_the_month_are_not_counted(month: Month) -> None:
    october = monthly_figures(month.services, "2026-10")
    december = monthly_figures(month.services, "2026-12")

    assert october.totals == ads(2, 4, confirmed=2, transferred=2)
    assert december.totals == ads(1, 1, dismissed=1)
    assert (december.totals["ads"], december.totals["hits"]) == \
        counted_in(month.services, "2026-12-01", "2026-12-31")


def test_an_ad_found_twice_in_the_month_counts_once_with_its_last_version(month: Month) -> None:
    changed = checked_ad("http://mall.test/item/3.html", "mall", "纯棉T恤", SUPERLATIVE + "，全网第一",
                         "2026-11-30T15:40:00+00:00")
    save(month.services.store, changed)

    figures = monthly_figures(month.services, "2026-11")

    assert figures.totals["ads"] == NOVEMBER["ads"]
    assert figures.totals["pending"] == NOVEMBER["pending"] + 1  # the new version is not decided yet
    assert figures.totals["confirmed"] == NOVEMBER["confirmed"] - 1


def test_a_listing_with_findings_beyond_ads_alone_is_another_lead_not_an_illegal_ad(month: Month) -> None:
    fake = checked_ad("http://market.test/item/1.html", "market", "高仿包包", "1:1复刻大牌包，原单品质",
                      "2026-11-08T02:00:00+00:00")
    assert {hit["rule_id"] for hit in fake.hits} == {"market-counterfeit-wording"}  # one hit in three places
    save(month.services.store, fake)

    figures = monthly_figures(month.services, "2026-11")

    assert (figures.flagged_ads, figures.other_leads) == (NOVEMBER["ads"], 1)
    assert figures.totals == {**NOVEMBER, "ads": 5, "pending": 2, "hits": 10}
    assert figures.by_focus["侵权假冒"] == ads(1, 1, pending=1)


def test_monthly_figures_by_focus_area_follow_the_catalog(month: Month) -> None:
    figures = monthly_figures(month.services, "2026-11")

    assert list(figures.by_focus) == ["侵权假冒", "虚假宣传与违法广告", "刷单炒信", "其他违法行为"]
    assert figures.by_focus["虚假宣传与违法广告"] == ads(3, 8, confirmed=3, transferred=1)
    assert figures.by_focus["其他违法行为"] == ads(1, 1, pending=1)  # the price ad
    assert figures.by_focus["侵权假冒"] == figures.by_focus["刷单炒信"] == dict.fromkeys(COLUMNS, 0)


def test_monthly_figures_by_category_and_article_count_ads_with_their_hits(month: Month) -> None:
    figures = monthly_figures(month.services, "2026-11")

    assert figures.by_category["一般商品"] == ads(2, 3, confirmed=2, transferred=1)  # the cure ad and the T-shirt
    assert figures.by_category["保健食品"] == ads(1, 5, confirmed=1)
    assert figures.by_article["广告法第十八条"] == ads(1, 3, confirmed=1)  # three rules of 第十八条 on one ad
    assert figures.by_article["广告法第十七条"] == ads(2, 3, confirmed=2, transferred=1)
    assert sum(row["hits"] for row in figures.by_article.values()) == figures.totals["hits"]


def test_crawl_runs_of_the_month_give_sites_and_pages(month: Month) -> None:
    sites, pages = month.services.store.conn.execute(
        """SELECT count(DISTINCT site), sum(pages) FROM crawl_runs
           WHERE started_at >= '2026-10-31T16:00' AND started_at < '2026-11-30T16:00'""").fetchone()

    figures = monthly_figures(month.services, "2026-11")

    assert (figures.sites, figures.pages) == (sites, pages) == (2, 75)  # not the mall run at 00:10 on 1 Dec


def test_cases_count_in_the_month_of_approval_in_beijing_time(month: Month) -> None:
    assert monthly_figures(month.services, "2026-11").cases == 2  # A-2026-011 and A-2026-010, not A-2026-012
    assert monthly_figures(month.services, "2026-12").cases == 1  # A-2026-013, approved 01:00 on 1 Dec in Beijing


def test_dispositions_count_in_the_month_they_were_recorded_with_the_amounts(month: Month) -> None:
    cop = month.services.accounts.get("cop")
    month.services.workflow.dispose(cop, "A-2026-011", "rectify", "责改1号")
    month.services.workflow.dispose(cop, "A-2026-011", "penalty", "罚1号", "5000")
    month.services.workflow.dispose(cop, "A-2026-010", "penalty", "罚2号", "1500.5")
    month.services.db.conn.execute("UPDATE case_dispositions SET at = '2026-11-20T03:00:00+00:00'")
    month.services.workflow.dispose(cop, "A-2026-010", "close", "结1号")  # now: not November
    month.services.db.conn.execute(
        "UPDATE case_dispositions SET at = '2026-11-30T16:30:00+00:00' WHERE kind = 'close'")  # 1 Dec in Beijing

    november = monthly_figures(month.services, "2026-11").dispositions
    december = monthly_figures(month.services, "2026-12").dispositions

    assert november == {"责令整改": (1, None), "下架/删除": (0, None), "立案": (0, None), "移送": (0, None),
                        "罚没": (2, 6500.5), "结案": (0, None)}
    assert december["结案"] == (1, None) and december["罚没"] == (0, 0.0)
    rows = sheet_rows(monthly_workbook(month.services, monthly_figures(month.services, "2026-11"), "x"))
    assert value_beside(rows, "责令整改（件）") == 1
    assert value_beside(rows, "罚没（件）") == 2
    assert value_beside(rows, "罚没金额（元）") == 6500.5


def test_ads_monitored_are_those_seen_in_the_month(month: Month) -> None:
    [seen_month] = {row[0][:7] for row in month.services.store.conn.execute("SELECT last_seen FROM ads")}
    monitored = month.services.store.conn.execute("SELECT count(*) FROM ads").fetchone()[0]

    assert monthly_figures(month.services, seen_month).ads == monitored == 8


def test_a_month_that_is_not_a_month_is_refused(month: Month) -> None:
    for bad in ("2026-13", "November", "2026"):
        with pytest.raises(ValueError):
            monthly_figures(month.services, bad)


# --- the monthly workbook ---


def sheet_rows(data: bytes) -> list[tuple]:
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["专项行动情况统计表", "移送案件明细"]
    return [tuple(row) for row in book.active.iter_rows(values_only=True)]


def value_beside(rows: list[tuple], label: str) -> object:
    [row] = [row for row in rows if row[0] == label]
    return row[1]


def tables(rows: list[tuple]) -> dict[str, dict[str, dict[str, int]]]:
    """The sheet's cross tables by their first column's heading: name → {column label → count}."""
    found: dict[str, dict[str, dict[str, int]]] = {}
    for index, row in enumerate(rows):
        if row[0] in ("重点领域", "广告类别", "违反条款"):
            header, table = row, {}
            for body in rows[index + 1:]:
                table[body[0]] = {header[i]: body[i] for i in range(1, len(COLUMNS) + 1)}
                if body[0] == "合计（不重复）":
                    break
            found[row[0]] = table
    return found


SHEET_COLUMNS = {"ads": "违法广告（条）", "confirmed": "确认违法（条）", "transferred": "其中移送稽查（条）",
                 "dismissed": "排除（条）", "pending": "待审核（条）", "hits": "命中（项）"}


def as_sheet(counts: dict[str, int]) -> dict[str, int]:
    return {SHEET_COLUMNS[key]: value for key, value in counts.items()}


def test_workbook_overview_holds_the_figures_of_the_month(month: Month) -> None:
    figures = monthly_figures(month.services, "2026-11")

    rows = sheet_rows(monthly_workbook(month.services, figures, "审核员甲"))

    assert "2026年11月" in rows[0][0]
    assert any(cell and "2026-11-01 至 2026-11-30" in str(cell) for row in rows for cell in row)
    assert any(cell == "填报人：审核员甲" for row in rows for cell in row)
    assert value_beside(rows, "监测网站数（个）") == 2
    assert value_beside(rows, "监测网页数（页次）") == 75
    assert value_beside(rows, "违法广告条数（条）") == 4
    assert value_beside(rows, "其他违法线索（条，侵权假冒、刷单炒信等）") == 0
    assert value_beside(rows, "涉及网站（个）") == 2
    assert value_beside(rows, "涉及广告主体（个）") == 2
    assert value_beside(rows, "命中（项）") == 9
    assert value_beside(rows, "确认违法（条）") == 3
    assert value_beside(rows, "排除（条）") == 0
    assert value_beside(rows, "待审核（条）") == 1
    assert value_beside(rows, "移送稽查案件数（件）") == 2


def test_workbook_tables_and_their_totals_hold_the_same_numbers(month: Month) -> None:
    figures = monthly_figures(month.services, "2026-11")

    found = tables(sheet_rows(monthly_workbook(month.services, figures, "审核员甲")))

    total = "合计（不重复）"
    assert found["重点领域"][total] == found["广告类别"][total] == found["违反条款"][total] == as_sheet(NOVEMBER)
    assert list(found["重点领域"]) == ["侵权假冒", "虚假宣传与违法广告", "刷单炒信", "其他违法行为", total]
    assert found["重点领域"]["虚假宣传与违法广告"] == as_sheet(figures.by_focus["虚假宣传与违法广告"])
    assert found["广告类别"]["保健食品"] == as_sheet(figures.by_category["保健食品"])
    assert found["违反条款"]["广告法第十八条"] == as_sheet(figures.by_article["广告法第十八条"])
    # Each ad here falls under one focus area, so the areas add up to the total.
    for column in SHEET_COLUMNS.values():
        assert sum(row[column] for name, row in found["重点领域"].items() if name != total) == \
            as_sheet(NOVEMBER)[column]


def test_workbook_title_names_the_month_without_a_leading_zero(month: Month) -> None:
    rows = sheet_rows(monthly_workbook(month.services, monthly_figures(month.services, "2026-03"), "x"))

    assert "2026年3月" in rows[0][0]
    assert value_beside(rows, "违法广告条数（条）") == 0


# --- the queue as CSV ---

CSV_HEADER = ["命中编号", "风险分", "网站", "标题", "广告主体（商家/店铺）", "广告类别", "违反条款", "规则", "规则名称",
              "严重程度", "命中原文", "审核状态", "审核人", "理由", "抓取时间（北京时间）", "网址"]


def read_csv(services: Services, filters: QueueFilter) -> list[dict[str, str]]:
    text = "".join(queue_csv(services, filters, "rev"))
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == CSV_HEADER
    return [dict(zip(CSV_HEADER, row, strict=True)) for row in rows[1:]]


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[tuple[Services, list[str], list[str]]]:
    with open_services(tmp_path) as services:
        evil = save(services.store, checked_ad("http://mall.test/item/66.html", "mall", '=HYPERLINK("http://evil")',
                                               CURE_CLAIM, "2026-11-05T02:00:00+00:00", seller="@SUM(1+1)"))
        plain = save(services.store, checked_ad("http://mall.test/item/67.html", "mall", "纯棉T恤", SUPERLATIVE,
                                                "2026-11-06T03:30:00+00:00", seller="-某店"))
        yield services, evil, plain


def test_csv_has_a_bom_the_chinese_header_and_one_row_per_hit(hostile: tuple[Services, list[str], list[str]]) -> None:
    services, evil, plain = hostile
    rules = services.store.conn.execute("SELECT count(DISTINCT version_id || rule_id) FROM hits").fetchone()[0]

    rows = read_csv(services, QueueFilter(status=""))

    assert len(rows) == rules == 3  # a rule in two places of an ad is one hit, named by its first place
    assert sorted(row["命中编号"] for row in rows) == sorted([*evil, plain[0]])


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_get_a_leading_apostrophe(
        hostile: tuple[Services, list[str], list[str]]) -> None:
    services, evil, plain = hostile

    rows = {row["命中编号"]: row for row in read_csv(services, QueueFilter(status=""))}

    for hit in evil:
        assert rows[hit]["标题"] == "'=HYPERLINK(\"http://evil\")"
        assert rows[hit]["广告主体（商家/店铺）"] == "'@SUM(1+1)"
    assert rows[plain[0]]["标题"] == "纯棉T恤"
    assert rows[plain[0]]["广告主体（商家/店铺）"] == "'-某店"


def test_csv_shows_labels_and_beijing_time(hostile: tuple[Services, list[str], list[str]]) -> None:
    services, evil, plain = hostile
    add_user(services, "rev", "reviewer", "审核员甲")
    services.workflow.decide(REVIEWER, plain[1], "dismiss", "false_match")

    rows = {row["命中编号"]: row for row in read_csv(services, QueueFilter(status=""))}

    row = rows[plain[0]]
    article = "广告法第九条第三项；另见广告法第二十八条、广告法第四条、反不正当竞争法第八条"
    expected = ("mall", "一般商品", article, "ad9-superlative")
    assert (row["网站"], row["广告类别"], row["违反条款"], row["规则"]) == expected
    assert row["规则名称"].startswith("使用“最”“第一”")
    assert row["命中原文"] == "国家级、最好"  # both places of the rule
    assert (row["审核状态"], row["审核人"], row["理由"]) == ("已排除", "审核员甲", "误报（词语误匹配）")
    assert row["抓取时间（北京时间）"] == "2026-11-06 11:30"
    assert row["网址"] == "http://mall.test/item/67.html"
    assert rows[evil[0]]["审核状态"] == "待审核"


def test_csv_follows_the_queue_filter(hostile: tuple[Services, list[str], list[str]]) -> None:
    services, evil, plain = hostile
    services.workflow.decide(REVIEWER, plain[0], "dismiss", "false_match")

    pending = read_csv(services, QueueFilter())  # the queue's default: ads pending, with all their hits
    dismissed = read_csv(services, QueueFilter(status="dismissed"))

    assert sorted(row["命中编号"] for row in pending) == sorted(evil)
    assert [row["命中编号"] for row in dismissed] == [plain[0]]


def test_csv_of_hits_assigned_to_nobody_is_just_the_header(hostile: tuple[Services, list[str], list[str]]) -> None:
    services, _, _ = hostile

    assert read_csv(services, QueueFilter(status="", assignee="me")) == []


def test_the_monthly_sheet_is_due_in_the_following_month() -> None:
    from dashboards.exports import report_due

    assert report_due("2026-11", 28) == "2026-12-28"
    assert report_due("2026-12", 28) == "2027-01-28"

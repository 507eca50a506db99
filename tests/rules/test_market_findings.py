"""Issue #20: the findings no single text shows — reviews, shop licence and ICP number, names, brand prices.

Real objects throughout: reviews parsed from the text a page shows, MinHash from datasketch, the shipped
data files (and broken copies of them, whose errors must name the file, the entry and the field).
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from rules.market_findings import (
    MARKET_DIR,
    Counts,
    Finding,
    PricedListing,
    Review,
    brand_of,
    duplicate_reviews,
    heritage_findings,
    icp_findings,
    licence_findings,
    load_market_data,
    parse_count,
    parse_review,
    price_anomalies,
    review_bursts,
    sales_without_reviews,
)
from rules.rulebook import ARTICLE_KEYS, RulebookError

DATA = load_market_data()
T0 = datetime(2026, 10, 1, 9, 0)
HOUR = timedelta(hours=1)


def _ids(findings: list) -> list[str]:
    return [f.rule_id for f in findings]


@pytest.mark.parametrize(
    ("line", "at", "rating", "text"),
    [
        ("2026-10-20 01:10 ★★★★★ 很好用", datetime(2026, 10, 20, 1, 10), 5, "很好用"),
        ("2026-10-20 01:10 ★★★☆☆ 一般", datetime(2026, 10, 20, 1, 10), 3, "一般"),
        ("2026年10月3日 4星 颜色偏深", datetime(2026, 10, 3), 4, "颜色偏深"),
        ("物流很快 5分", None, 5, "物流很快"),
        ("没有日期也没有评分", None, None, "没有日期也没有评分"),
    ],
    ids=["stars", "half-stars", "chinese-date", "points", "bare"],
)
def test_a_review_is_read_as_date_rating_and_words(
    line: str, at: datetime | None, rating: int | None, text: str
) -> None:
    assert parse_review(line) == Review(at, rating, text)


def test_a_burst_of_top_ratings_within_hours_is_found() -> None:
    honest = [Review(T0 + timedelta(days=3 * i), (5, 4, 3)[i % 3], "还行") for i in range(6)]
    burst = [Review(T0 + timedelta(days=20, minutes=15 * i), 5, "好") for i in range(12)]
    (finding,) = review_bursts(honest + burst, timedelta(hours=6), minimum=8)
    assert finding.rule_id == "market-review-burst"
    assert "12条五星评价" in finding.matched
    assert "market-review-burst" in finding.hit(DATA)["rule_id"]


def test_a_busy_day_of_mixed_honest_ratings_is_no_burst() -> None:
    busy = [Review(T0 + timedelta(minutes=50 * i), (5, 4, 5, 3, 5, 4)[i % 6], "双十一买的") for i in range(12)]
    assert review_bursts(busy, timedelta(hours=6), minimum=8) == []


def test_top_ratings_spread_over_weeks_are_no_burst() -> None:
    spread = [Review(T0 + timedelta(days=2 * i), 5, "很好") for i in range(20)]
    assert review_bursts(spread, timedelta(hours=6), minimum=8) == []


COPIED = [
    "宝贝收到了，质量非常好，做工精细，物流也很快，五星好评推荐购买！",
    "宝贝收到了，质量非常好，做工很精细，物流也很快，五星好评推荐购买！",
    "宝贝收到了质量非常好，做工精细，物流也超快，五星好评推荐购买！",
]
HONEST = [
    "鞋子很合脚，做工不错，物流两天就到了。",
    "颜色比图片略深，整体还算满意吧。",
    "用了一周有点开胶，已经联系售后了。",
]


def test_near_duplicate_review_texts_are_found_with_minhash() -> None:
    reviews = [Review(None, 5, t) for t in COPIED + HONEST]
    (finding,) = duplicate_reviews(reviews, threshold=0.6, minimum=3)
    assert finding.rule_id == "market-review-duplicate"
    assert finding.matched.startswith("3条评价文字近似")


def test_distinct_honest_reviews_and_short_praise_are_no_duplicates() -> None:
    short = [Review(None, 5, "很好"), Review(None, 5, "很好"), Review(None, 5, "很好！")]
    assert duplicate_reviews([Review(None, 4, t) for t in HONEST] + short, threshold=0.6, minimum=3) == []


def test_two_copies_are_below_the_minimum() -> None:
    assert duplicate_reviews([Review(None, 5, t) for t in COPIED[:2] + HONEST], threshold=0.6, minimum=3) == []


@pytest.mark.parametrize(
    ("seller", "licence", "expected"),
    [
        ("义乌市小李日用品商行", "", ["market-licence-missing"]),
        ("宁波甬家贸易有限公司", "营业执照信息 企业名称：宁波顺达电子有限公司", ["market-licence-name-mismatch"]),
        ("上海优跑体育用品有限公司", "营业执照信息 企业名称：上海优跑体育用品有限公司 统一社会信用代码：913…", []),
        ("广州某某（集团）有限公司", "名称: 广州某某(集团)有限公司", []),
        ("杭州潮汇商贸有限公司", "/store/2/licence.html", []),
    ],
    ids=["missing", "other-company", "same", "bracket-forms", "link-only"],
)
def test_shop_licence_is_shown_and_names_the_seller(seller: str, licence: str, expected: list[str]) -> None:
    assert _ids(licence_findings(seller, licence)) == expected


@pytest.mark.parametrize(
    ("footer", "expected"),
    [
        ("© 2026 好物低价小铺 客服热线 400-820-0003", ["market-icp-missing"]),
        ("© 2026 潮鞋汇 浙ICP备2023056789号", []),
        ("京ICP证 030173号 京公网安备11000002000001号", []),
        ("沪ICP备 2024031234号-1", []),
        ("鄂ICP证:020001-5", []),
        ("增值电信业务经营许可证：浙B2-20080224", []),
        ("", []),
    ],
    ids=["none", "record", "licence", "spaced", "colon", "operating-licence", "no-footer-seen"],
)
def test_a_footer_without_an_icp_number_is_found(footer: str, expected: list[str]) -> None:
    assert _ids(icp_findings(footer)) == expected


def test_heritage_names_need_an_authorised_seller() -> None:
    assert _ids(heritage_findings("同仁堂 阿胶糕 500克", "好物低价小铺", DATA.protected)) == [
        "market-heritage-unauthorised"
    ]
    assert heritage_findings("同仁堂 阿胶糕 500克", "同仁堂官方旗舰店", DATA.protected) == []
    assert heritage_findings("阿胶糕 500克", "好物低价小铺", DATA.protected) == []


def test_a_title_names_one_brand_ascii_names_as_whole_words() -> None:
    assert brand_of("耐克 Air Force 1 板鞋", DATA.brands) == "耐克"
    assert brand_of("NIKE 跑步鞋", DATA.brands) == "耐克"
    assert brand_of("lvdi 绿地 收纳盒", DATA.brands) is None
    assert brand_of("耐克 阿迪达斯 两双装", DATA.brands) is None


def test_an_accessory_names_no_brand() -> None:
    """A screen film for an iPad is priced like a film, not like an iPad."""
    assert brand_of("iPad Pro 10.5 类纸贴膜", DATA.brands, DATA.accessory_words) is None
    assert brand_of("适用iPhone 快充数据线", DATA.brands, DATA.accessory_words) is None
    assert brand_of("Apple/苹果 iPad 9.7英寸", DATA.brands, DATA.accessory_words) == "苹果"


def test_a_famous_brand_far_below_its_level_in_the_crawl_is_found_with_the_comparison() -> None:
    prices = {"a": 699.0, "b": 759.0, "c": 729.0, "d": 689.0, "cheap": 129.0}
    listings = [PricedListing(key, f"耐克 跑鞋 {key}", price) for key, price in prices.items()]
    found = price_anomalies(listings, DATA, ratio=0.3, peers=3)
    assert list(found) == ["cheap"]
    assert "中位价 ¥714.00" in found["cheap"].matched


def test_too_few_peers_compare_nothing() -> None:
    listings = [PricedListing("a", "耐克 跑鞋", 699.0), PricedListing("b", "耐克 跑鞋", 99.0)]
    assert price_anomalies(listings, DATA, ratio=0.3, peers=3) == {}


def test_every_finding_is_a_hit_the_review_flow_takes() -> None:
    """The fields the store, the queue, the filters and the monthly sheet read; the article key is a known one."""
    for rule_id in DATA.rules:
        hit = Finding(rule_id, "证据", "（说明）").hit(DATA, "general")
        assert hit["article_key"] in ARTICLE_KEYS
        assert {"rule_id", "law", "article", "severity", "category", "matched", "start", "end", "explanation"} <= set(
            hit
        )
        assert hit["explanation"].endswith("（条号未经官方文本核实 article number unverified）")


def test_a_broken_data_file_is_refused_naming_file_entry_and_field(tmp_path: Path) -> None:
    shutil.copytree(MARKET_DIR, tmp_path / "market")
    path = tmp_path / "market" / "detectors.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("article_key: 电子商务法第十五条", "article_key: 电子商务法第十五", 1),
        encoding="utf-8",
    )
    with pytest.raises(RulebookError) as error:
        load_market_data(tmp_path / "market")
    assert "detectors.yaml: entry market-licence-missing: field 'article_key': unknown article_key" in str(error.value)
    assert "did you mean '电子商务法第十五条'" in str(error.value)


@pytest.mark.parametrize(
    ("text", "count"),
    [("已售 1.2万+", 12000), ("累计评价 34", 34), ("月销 2k", 2000), ("1,234 人付款", 1234), ("暂无评价", None)],
    ids=["wan", "plain", "k", "thousands-comma", "none"],
)
def test_counts_are_read_as_pages_show_them(text: str, count: int | None) -> None:
    assert parse_count(text) == count


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ([Counts("d1", 300, 15), Counts("d2", 9300, 15)], ["market-sales-without-reviews"]),
        ([Counts("d1", 300, 15), Counts("d2", 6300, 315)], []),
        ([Counts("d1", 300, 15), Counts("d2", 900, 15)], []),
        ([Counts("d1", 300, 15)], []),
    ],
    ids=["bought-sales", "reviews-in-step", "small-growth", "one-crawl"],
)
def test_sales_growth_without_review_growth_is_found(history: list[Counts], expected: list[str]) -> None:
    assert _ids(sales_without_reviews(history, min_gain=1000, review_share=0.005)) == expected

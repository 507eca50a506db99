"""The market-check stage (#20) built from real settings: what it reads off an item, what it refuses at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from crawler.config import project_settings
from crawler.items import AdItem
from crawler.pipelines.market_check import MarketCheckPipeline
from crawler.pipelines.normalise import NormalisePipeline
from crawler.pipelines.rule_check import RuleCheckPipeline
from indexer.sqlite import SqliteStore

BURST = [f"<li>2026-10-20 01:{10 + i} <span>★★★★★</span> <span>好用{i}</span></li>" for i in range(9)]


def _settings(tmp_path: Path, **overrides: object) -> dict:
    adwatch = {k: v for k, v in project_settings().copy_to_dict().items() if k.startswith("ADWATCH_")}
    return {**adwatch, "ADWATCH_DATA_DIR": str(tmp_path), **overrides}


def _item(**fields: object) -> AdItem:
    defaults = {"url": "http://s/goods/1.html", "site": "s", "canonical_url": "http://s/goods/1.html"}
    return AdItem(**{**defaults, "title": "快充数据线", "fetched_at": "2026-11-11T08:00:00+00:00", **fields})


def test_a_listings_reviews_and_a_shop_pages_licence_become_hits_beside_the_ad_hits(tmp_path: Path) -> None:
    crawler = get_crawler(settings_dict=_settings(tmp_path))
    stages = [NormalisePipeline.from_crawler(crawler), RuleCheckPipeline.from_crawler(crawler)]
    market = MarketCheckPipeline.from_crawler(crawler)
    listing = _item(body="五星好评晒图返现5元", reviews=BURST)
    shop = _item(url="http://s/store/3.html", canonical_url="http://s/store/3.html", title="好物低价小铺",
                 seller="义乌市小李日用品商行", page="shop", footer="© 2026 好物低价小铺")  # fmt: skip
    for stage in stages:
        listing, shop = stage.process_item(listing), stage.process_item(shop)
    listing, shop = market.process_item(listing), market.process_item(shop)

    assert {h["rule_id"] for h in listing.hits} == {"market-review-cashback", "market-review-burst"}
    assert {h["rule_id"] for h in shop.hits} == {"market-licence-missing", "market-icp-missing"}
    assert crawler.stats.get_value("market/hit/market-review-burst") == 1
    with SqliteStore(tmp_path / "adwatch.db") as store:
        outcomes = store.save_items([listing, shop])
    assert [len(o.hit_ids) for o in outcomes] == [2, 2]


def test_a_listing_page_is_not_checked_for_a_licence(tmp_path: Path) -> None:
    market = MarketCheckPipeline.from_crawler(get_crawler(settings_dict=_settings(tmp_path)))
    assert market.process_item(_item(footer="© 2026 某店")).hits == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ADWATCH_MARKET_BURST_HOURS": 0}, "ADWATCH_MARKET_BURST_HOURS"),
        ({"ADWATCH_MARKET_DUPLICATE_SIMILARITY": 1.5}, "ADWATCH_MARKET_DUPLICATE_SIMILARITY"),
        ({"ADWATCH_MARKET_PRICE_RATIO": 1}, "ADWATCH_MARKET_PRICE_RATIO"),
        ({"ADWATCH_MARKET_SALES_REVIEW_SHARE": 0}, "ADWATCH_MARKET_SALES_REVIEW_SHARE"),
    ],
    ids=["burst-window", "similarity", "price-ratio", "review-share"],
)
def test_contradictory_settings_are_refused_at_start_up(tmp_path: Path, overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MarketCheckPipeline.from_crawler(get_crawler(settings_dict=_settings(tmp_path, **overrides)))


def test_the_stage_is_off_when_its_flag_is(tmp_path: Path) -> None:
    with pytest.raises(NotConfigured, match="ADWATCH_MARKET_ENABLED"):
        MarketCheckPipeline.from_crawler(get_crawler(settings_dict=_settings(tmp_path, ADWATCH_MARKET_ENABLED=False)))

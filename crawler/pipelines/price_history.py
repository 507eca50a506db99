"""Pipeline stage 3½: keep every listing's prices across crawls and flag the price tricks they show.

Runs after the store stage (order 350).  Items are only noted while the crawl
runs; when the spider has closed (and the store stage has flushed), one
transaction records a price observation for every listing seen, changed or
not, and the listings' histories are checked for 先涨后降, 虚构原价 (the
seven-day rule) and stated discounts that the prices contradict.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings

from crawler.config import AdWatchConfig
from crawler.items import AdItem
from crawler.signals import hits_added
from indexer.price_history import PriceHistory, PriceSighting
from indexer.sqlite import SqliteStore
from rules.price_tricks import find_tricks

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PriceHistoryConfig:
    compare_days: int
    lookback_days: int
    tolerance: float

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> PriceHistoryConfig:
        config = cls(
            compare_days=settings.getint("ADWATCH_PRICE_COMPARE_DAYS"),
            lookback_days=settings.getint("ADWATCH_PRICE_LOOKBACK_DAYS"),
            tolerance=settings.getfloat("ADWATCH_PRICE_DISCOUNT_TOLERANCE"),
        )
        if config.compare_days < 1 or config.lookback_days < config.compare_days:
            raise ValueError("ADWATCH_PRICE_LOOKBACK_DAYS must be at least ADWATCH_PRICE_COMPARE_DAYS (≥ 1)")
        if not 0 <= config.tolerance < 1:
            raise ValueError("ADWATCH_PRICE_DISCOUNT_TOLERANCE must be in [0, 1)")
        return config


class PriceHistoryPipeline:
    def __init__(self, crawler: Crawler, store_config: AdWatchConfig, config: PriceHistoryConfig) -> None:
        self.stats = crawler.stats
        self.store_config = store_config
        self.config = config
        self.sightings: list[PriceSighting] = []
        self.signals = crawler.signals
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PriceHistoryPipeline:
        settings = crawler.settings
        if not settings.getbool("ADWATCH_PRICE_HISTORY_ENABLED"):
            raise NotConfigured("ADWATCH_PRICE_HISTORY_ENABLED is off")
        if not settings.getbool("ADWATCH_STORE_ENABLED"):
            raise NotConfigured("price history needs the store (ADWATCH_STORE_ENABLED is off)")
        return cls(crawler, AdWatchConfig.from_settings(settings), PriceHistoryConfig.from_settings(settings))

    def process_item(self, item: AdItem, spider: Spider | None = None) -> AdItem:
        if item.prices:
            self.sightings.append(
                PriceSighting(item.canonical_url, item.fetched_at, tuple(item.prices), tuple(item.price_texts))
            )
        return item

    def spider_closed(self, spider: Spider | None = None) -> None:
        if not self.sightings:
            return
        sightings, self.sightings = self.sightings, []
        with SqliteStore(self.store_config.db_path) as store:
            prices = PriceHistory(store)
            ad_ids = prices.record(sightings)
            self.stats.inc_value("price/observed", len(ad_ids))
            flagged = [ad_id for ad_id in ad_ids if self._check(prices, ad_id)]
        if flagged:
            self.signals.send_catch_log(signal=hits_added, ad_ids=flagged)

    def _check(self, prices: PriceHistory, ad_id: int) -> bool:
        """Find and store the price tricks of one ad; whether it has any."""
        findings = find_tricks(
            prices.history(ad_id),
            compare_days=self.config.compare_days,
            lookback_days=self.config.lookback_days,
            tolerance=self.config.tolerance,
        )
        prices.save_findings(ad_id, findings)
        for finding in findings:
            self.stats.inc_value(f"price/hit/{finding.rule_id}")
            self.stats.inc_value("price/hits")
        return bool(findings)

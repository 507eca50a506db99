"""Pipeline stage 2½: the market checks beyond ads (issue #20), stored as hits beside the ad hits.

Per item, before the store stage (order 250): a listing's reviews (bursts of top
ratings, near-duplicate texts), a 老字号/地理标志 name used by a seller not on the
authorisation list, and on shop pages the licence information and the footer's
ICP number.  Per crawl, once the spider has closed and the store stage has
flushed: famous-brand listings priced far below the brand's level in the same
crawl, and listings whose sales grew across crawls while their reviews did not; stored on the listing's
current version as the price-history stage does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings

from crawler.config import AdWatchConfig
from crawler.items import AdItem
from crawler.signals import hits_added
from indexer.market_counts import CountSighting, MarketCounts
from indexer.price_history import PriceHistory
from indexer.sqlite import SqliteStore
from rules.market_findings import (
    Finding,
    MarketData,
    PricedListing,
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


@dataclass(frozen=True)
class MarketCheckConfig:
    burst_hours: float
    burst_min: int
    duplicate_min: int
    duplicate_similarity: float
    price_peers: int
    price_ratio: float
    sales_min_gain: int
    sales_review_share: float

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> MarketCheckConfig:
        config = cls(
            burst_hours=settings.getfloat("ADWATCH_MARKET_BURST_HOURS"),
            burst_min=settings.getint("ADWATCH_MARKET_BURST_MIN"),
            duplicate_min=settings.getint("ADWATCH_MARKET_DUPLICATE_MIN"),
            duplicate_similarity=settings.getfloat("ADWATCH_MARKET_DUPLICATE_SIMILARITY"),
            price_peers=settings.getint("ADWATCH_MARKET_PRICE_PEERS"),
            price_ratio=settings.getfloat("ADWATCH_MARKET_PRICE_RATIO"),
            sales_min_gain=settings.getint("ADWATCH_MARKET_SALES_MIN_GAIN"),
            sales_review_share=settings.getfloat("ADWATCH_MARKET_SALES_REVIEW_SHARE"),
        )
        if config.burst_hours <= 0 or config.burst_min < 2 or config.duplicate_min < 2 or config.price_peers < 1:
            raise ValueError("ADWATCH_MARKET_BURST_HOURS must be > 0, the *_MIN settings ≥ 2, *_PRICE_PEERS ≥ 1")
        if config.sales_min_gain < 1 or not 0 < config.sales_review_share < 1:
            raise ValueError("ADWATCH_MARKET_SALES_MIN_GAIN must be ≥ 1, ADWATCH_MARKET_SALES_REVIEW_SHARE in (0, 1)")
        if not 0 < config.duplicate_similarity <= 1 or not 0 < config.price_ratio < 1:
            raise ValueError(
                "ADWATCH_MARKET_DUPLICATE_SIMILARITY must be in (0, 1], ADWATCH_MARKET_PRICE_RATIO in (0, 1)"
            )
        return config

    def item_findings(self, item: AdItem, data: MarketData) -> list[Finding]:
        """What one item shows by itself: reviews, title and seller, and on a shop page its licence and footer."""
        found = heritage_findings(item.title, item.seller, data.protected)
        if item.reviews:
            reviews = [parse_review(line) for line in item.reviews]
            found += review_bursts(reviews, timedelta(hours=self.burst_hours), self.burst_min)
            found += duplicate_reviews(reviews, self.duplicate_similarity, self.duplicate_min)
        if item.page == "shop":
            found += licence_findings(item.seller, item.licence) + icp_findings(item.footer)
        return found


class MarketCheckPipeline:
    """Adds the market findings to ``item.hits``; after the crawl, stores the brand-price findings."""

    def __init__(self, crawler: Crawler, config: MarketCheckConfig, store_config: AdWatchConfig | None) -> None:
        self.stats = crawler.stats
        self.config = config
        self.store_config = store_config
        self.data = load_market_data()
        self.priced: list[PricedListing] = []
        self.counted: list[CountSighting] = []
        self.signals = crawler.signals
        self.flagged: set[int] = set()
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> MarketCheckPipeline:
        settings = crawler.settings
        if not settings.getbool("ADWATCH_MARKET_ENABLED"):
            raise NotConfigured("ADWATCH_MARKET_ENABLED is off")
        store = AdWatchConfig.from_settings(settings) if settings.getbool("ADWATCH_STORE_ENABLED") else None
        return cls(crawler, MarketCheckConfig.from_settings(settings), store)

    def process_item(self, item: AdItem, spider: Spider | None = None) -> AdItem:
        category = item.categories[0] if item.categories else "general"
        for finding in self.config.item_findings(item, self.data):
            item.hits.append(finding.hit(self.data, category))
            self.stats.inc_value(f"market/hit/{finding.rule_id}")
        if item.page == "listing" and item.prices:
            self.priced.append(PricedListing(item.canonical_url, item.title, item.prices[0]))
        sales, reviews = parse_count(item.sales), parse_count(item.review_count)
        if sales is not None and reviews is not None:
            self.counted.append(CountSighting(item.canonical_url, item.fetched_at, sales, reviews))
        return item

    def spider_closed(self, spider: Spider | None = None) -> None:
        found = price_anomalies(self.priced, self.data, self.config.price_ratio, self.config.price_peers)
        counted, self.priced, self.counted = self.counted, [], []
        if self.store_config is None or not (found or counted):
            return
        with SqliteStore(self.store_config.db_path) as store:
            prices = PriceHistory(store)
            for url, finding in found.items():
                row = store.conn.execute("SELECT id FROM ads WHERE canonical_url = ?", (url,)).fetchone()
                if row is not None:
                    self._save(prices, row[0], finding, url)
            counts = MarketCounts(store)
            for ad_id, sighting in counts.record(counted):
                history = counts.history(ad_id)
                for finding in sales_without_reviews(
                    history, self.config.sales_min_gain, self.config.sales_review_share
                ):
                    self._save(prices, ad_id, finding, sighting.canonical_url)
        flagged, self.flagged = sorted(self.flagged), set()
        if flagged:
            self.signals.send_catch_log(signal=hits_added, ad_ids=flagged)

    def _save(self, prices: PriceHistory, ad_id: int, finding: Finding, url: str) -> None:
        prices.save_findings(ad_id, [_StoredFinding(finding, url, self.data)])
        self.flagged.add(ad_id)
        self.stats.inc_value(f"market/hit/{finding.rule_id}")


@dataclass(frozen=True)
class _StoredFinding:
    """A crawl-wide finding in the shape the price history stores (``rule_id``, ``key``, ``hit()``)."""

    finding: Finding
    url: str
    data: MarketData

    @property
    def rule_id(self) -> str:
        return self.finding.rule_id

    @property
    def key(self) -> str:
        return f"{self.finding.rule_id}:{self.url}"

    def hit(self) -> dict[str, object]:
        return self.finding.hit(self.data)

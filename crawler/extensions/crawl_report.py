"""Extension: when a site's crawl ends, record the run (pages, items, hits, errors) in the store."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from scrapy import Spider, signals
from scrapy.crawler import Crawler

from crawler.config import AdWatchConfig
from indexer.sqlite import SqliteStore

logger = logging.getLogger(__name__)


def error_count(stats: dict) -> int:
    """Failed requests of a crawl (timeouts, refused connections, HTTP errors), from its stats.

    Scrapy's ``log_count/ERROR`` is not used: it counts every crawler's log lines in the process.
    """
    return sum(v for k, v in stats.items() if k.startswith("adwatch/error/"))


class CrawlReportExtension:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.config = AdWatchConfig.from_settings(crawler.settings)
        self.enabled = crawler.settings.getbool("ADWATCH_STORE_ENABLED")
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlReportExtension:
        return cls(crawler)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        stats = self.crawler.stats.get_stats()
        started = stats.get("start_time") or datetime.now(UTC)
        run = {
            "site": spider.name,
            "started_at": started.isoformat(timespec="seconds"),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "finish_reason": reason,
            "pages": stats.get("response_received_count", 0),
            "items": stats.get("item_scraped_count", 0),
            "new_versions": stats.get("store/new", 0) + stats.get("store/changed", 0),
            "unchanged": stats.get("store/unchanged", 0),
            "hits": stats.get("store/hits", 0),
            "errors": error_count(stats),
        }
        if not self.enabled:
            return
        with SqliteStore(self.config.db_path) as store:
            store.record_run(run)

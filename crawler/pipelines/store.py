"""Pipeline stage 3: store checked items in the embedded store, in batches."""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import asdict

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.config import AdWatchConfig
from crawler.items import AdItem
from crawler.signals import items_stored, store_flush_requested
from indexer.sqlite import SqliteStore
from indexer.tokenize import token_string

logger = logging.getLogger(__name__)


class StorePipeline:
    """Writes items ``ADWATCH_STORE_BATCH_SIZE`` at a time, each batch one transaction.

    Content already stored (same canonical URL, same content hash) is neither
    stored nor flagged again; it only counts as seen.
    """

    def __init__(self, crawler: Crawler, config: AdWatchConfig) -> None:
        self.stats = crawler.stats
        self.signals = crawler.signals
        self.config = config
        self.batch: list[AdItem] = []
        self.store: SqliteStore | None = None
        crawler.signals.connect(self.flush, signal=signals.spider_idle)
        crawler.signals.connect(self.flush, signal=store_flush_requested)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        if not crawler.settings.getbool("ADWATCH_STORE_ENABLED"):
            raise NotConfigured("ADWATCH_STORE_ENABLED is off")
        return cls(crawler, AdWatchConfig.from_settings(crawler.settings))

    def open_spider(self, spider: Spider | None = None) -> None:
        self.store = SqliteStore(self.config.db_path)
        token_string("")  # load jieba's dictionary now, not in the middle of the crawl

    def close_spider(self, spider: Spider | None = None) -> None:
        self.flush()
        if self.batch:
            self._rescue(self.batch)
        if self.store is not None:
            self.store.close()
            self.store = None

    def process_item(self, item: AdItem, spider: Spider | None = None) -> AdItem:
        self.batch.append(item)
        if len(self.batch) >= self.config.store_batch_size:
            self.flush()
        return item

    def flush(self) -> None:
        if not self.batch or self.store is None:
            return
        batch, self.batch = self.batch, []
        try:
            outcomes = self.store.save_items(batch)
        except sqlite3.Error as exc:
            self.stats.inc_value("store/error")
            logger.error("Could not write %d items to %s (kept, will retry): %s", len(batch), self.store.path, exc)
            self.batch = batch + self.batch
            return
        for outcome in outcomes:
            self.stats.inc_value(f"store/{outcome.status}")
            self.stats.inc_value("store/hits", len(outcome.hit_ids))
        self.signals.send_catch_log(items_stored, items=batch, outcomes=outcomes)

    def _rescue(self, items: list[AdItem]) -> None:
        """Last resort when the store stays unwritable: keep the items as JSON lines beside it."""
        path = self.config.data_dir / "unsaved-items.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            for item in items:
                handle.write(json.dumps(asdict(item), ensure_ascii=False) + "\n")
        self.stats.inc_value("store/rescued", len(items))
        logger.error("Store unwritable: %d items saved to %s", len(items), path)

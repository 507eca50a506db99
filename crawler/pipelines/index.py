"""Pipeline stage 4: index checked items in Elasticsearch or OpenSearch, through the local journal.

Active only when ``ADWATCH_INDEX`` names an engine (``opensearch+http://…``,
``es+https://…``); with the default SQLite store there is nothing more to do.
A crawl never fails because the engine is down: what cannot be written waits
in the journal and is replayed, in order, when the engine answers again (here,
at the next flush after ``ADWATCH_INDEX_RETRY_INTERVAL``, and at the end of the
crawl), or by ``adwatch index replay``.
"""

from __future__ import annotations

import logging

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.items import AdItem
from indexer.backends import open_engine
from indexer.config import IndexConfig
from indexer.journal import Journal
from indexer.writer import JournaledWriter, WriteReport

logger = logging.getLogger(__name__)


class IndexPipeline:
    """Sends items to the engine ``ADWATCH_INDEX_BATCH_SIZE`` at a time (and whenever the spider idles)."""

    def __init__(self, crawler: Crawler, config: IndexConfig) -> None:
        self.stats = crawler.stats
        self.config = config
        self.engine = config.target.kind
        self.batch: list[AdItem] = []
        self.writer: JournaledWriter | None = None
        crawler.signals.connect(self.flush, signal=signals.spider_idle)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IndexPipeline:
        config = IndexConfig.from_settings(crawler.settings)
        if not config.enabled:
            raise NotConfigured("ADWATCH_INDEX_ENABLED is off")
        if not config.target.is_engine:
            raise NotConfigured("ADWATCH_INDEX is the embedded SQLite store")
        return cls(crawler, config)

    def open_spider(self, spider: Spider | None = None) -> None:
        index = open_engine(self.config.target, self.config)
        self.writer = JournaledWriter(index, Journal(self.config.journal_path), self.config.retry_interval,
                                      replay_batch=self.config.batch_size)

    def process_item(self, item: AdItem, spider: Spider | None = None) -> AdItem:
        self.batch.append(item)
        if len(self.batch) >= self.config.batch_size:
            self.flush()
        return item

    def flush(self) -> None:
        if not self.batch or self.writer is None:
            return
        batch, self.batch = self.batch, []
        self._count(self.writer.write(batch))

    def close_spider(self, spider: Spider | None = None) -> None:
        if self.writer is None:
            return
        self.flush()
        self._count(self.writer.replay(force=True))
        backlog = self.writer.journal.backlog()
        self.stats.set_value(f"index/{self.engine}/backlog", backlog["pending"])
        if backlog["pending"]:
            logger.warning("%d item(s) wait in the index journal %s: run `adwatch index replay` once %s is back",
                           backlog["pending"], self.config.journal_path, self.engine)
        self.writer.close()
        self.writer = None

    def _count(self, report: WriteReport) -> None:
        for name in ("written", "queued", "rejected", "replayed", "failures"):
            value = getattr(report, name)
            if value:
                self.stats.inc_value(f"index/{self.engine}/{name}", value)

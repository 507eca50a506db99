"""Pipeline stage 4: index checked items in Elasticsearch or OpenSearch, through the local journal.

Active only when ``ADWATCH_INDEX`` names an engine (``opensearch+http://…``,
``es+https://…``); with the default SQLite store there is nothing more to do.
A crawl never fails because the engine is down: what cannot be written waits
in the journal and is replayed, in order, when the engine answers again (here,
at the next flush after ``ADWATCH_INDEX_RETRY_INTERVAL``, and at the end of the
crawl), or by ``adwatch index replay``.

Hits stored after the crawl (price tricks, market findings over the whole crawl: the
``hits_added`` signal names their ads) reach the engine too: once the other stages
have closed, the ads they name are read back from the store, with every hit, and sent.
"""

from __future__ import annotations

import logging

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.config import AdWatchConfig
from crawler.items import AdItem
from crawler.signals import hits_added
from indexer.backends import open_engine
from indexer.config import IndexConfig
from indexer.journal import Journal
from indexer.sqlite import SqliteStore
from indexer.writer import JournaledWriter, WriteReport

logger = logging.getLogger(__name__)


class IndexPipeline:
    """Sends items to the engine ``ADWATCH_INDEX_BATCH_SIZE`` at a time (and whenever the spider idles).

    The last writes happen on ``spider_closed``, which Scrapy sends after every pipeline has closed: the stages
    that store hits after the crawl connect to it earlier (they come first in ``ITEM_PIPELINES``), so their hits
    are stored by the time this pipeline reads them back.
    """

    def __init__(self, crawler: Crawler, config: IndexConfig) -> None:
        self.stats = crawler.stats
        self.config = config
        self.engine = config.target.kind
        self.batch: list[AdItem] = []
        self.writer: JournaledWriter | None = None
        self.store_path = (
            AdWatchConfig.from_settings(crawler.settings).db_path
            if crawler.settings.getbool("ADWATCH_STORE_ENABLED")
            else None
        )
        self.added: set[int] = set()
        crawler.signals.connect(self.flush, signal=signals.spider_idle)
        crawler.signals.connect(self.note_hits_added, signal=hits_added)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IndexPipeline:
        config = IndexConfig.from_settings(crawler.settings)
        if not config.enabled:
            raise NotConfigured("ADWATCH_INDEX_ENABLED is off")
        if not config.target.is_engine:
            raise NotConfigured("ADWATCH_INDEX is the embedded SQLite store")
        return cls(crawler, config)

    def open_spider(self, spider: Spider | None = None) -> None:
        self.writer = self._open_writer()

    def _open_writer(self) -> JournaledWriter:
        index = open_engine(self.config.target, self.config)
        return JournaledWriter(index, Journal(self.config.journal_path), self.config.retry_interval,
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

    def note_hits_added(self, ad_ids: list[int]) -> None:
        self.added.update(ad_ids)

    def close_spider(self, spider: Spider | None = None) -> None:
        if self.writer is None:
            return
        self.flush()
        self._finish()

    def spider_closed(self, spider: Spider | None = None) -> None:
        """Send the ads that gained hits after the crawl, read back from the store with every hit."""
        added, self.added = self.added, set()
        if not added or self.store_path is None:
            return
        with SqliteStore(self.store_path) as store:
            items = store.current_items(added)
        self.stats.inc_value(f"index/{self.engine}/after_crawl", len(items))
        self.writer = self._open_writer()
        self.batch.extend(items)
        self.flush()
        self._finish()

    def _finish(self) -> None:
        """Replay what waits in the journal, report the backlog, close the writer."""
        assert self.writer is not None
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

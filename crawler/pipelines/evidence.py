"""Pipeline stage 5: evidence for every flagged ad — screenshot, raw records, capture record, manifest.

Capture runs beside the crawl: the item goes on at once, its evidence is
written by a background task (at most ``ADWATCH_EVIDENCE_CONCURRENCY`` pages
open in the one shared Chromium), and the spider closes only when every task
has finished.  See ``evidence.collector`` for what is written and how
failures are recorded.
"""

from __future__ import annotations

import asyncio
import logging

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.items import AdItem
from evidence import browser as shared_browser
from evidence.collector import EvidenceCollector, Outcome
from evidence.config import EvidenceConfig
from evidence.store import EvidenceStore

logger = logging.getLogger(__name__)


class EvidencePipeline:
    def __init__(self, crawler: Crawler, config: EvidenceConfig) -> None:
        self.stats = crawler.stats
        self.config = config
        self.collector: EvidenceCollector | None = None
        self.browser: shared_browser.SharedBrowser | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EvidencePipeline:
        if not crawler.settings.getbool("ADWATCH_EVIDENCE_ENABLED"):
            raise NotConfigured("ADWATCH_EVIDENCE_ENABLED is off")
        return cls(crawler, EvidenceConfig.from_settings(crawler.settings))

    def open_spider(self, spider: Spider | None = None) -> None:
        executable = self.config.browser_path()
        if self.config.screenshot and executable:
            self.browser = shared_browser.acquire(executable, self.config.concurrency)
        elif self.config.screenshot:
            logger.warning("No Chromium (%r): evidence without screenshots", self.config.browser)
            self.stats.set_value("evidence/no_browser", 1)
        self.collector = EvidenceCollector(self.config, EvidenceStore(self.config.db_path), self.browser)

    def process_item(self, item: AdItem, spider: Spider | None = None) -> AdItem:
        if self.collector is not None and self.collector.wanted(item):
            task = asyncio.ensure_future(self._collect(item))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return item

    async def _collect(self, item: AdItem) -> None:
        assert self.collector is not None
        try:
            outcome = await self.collector.collect(item)
        except Exception:
            self.stats.inc_value("evidence/error")
            logger.exception("Evidence capture failed for %s", item.url)
            return
        self._count(outcome)

    def _count(self, outcome: Outcome) -> None:
        self.stats.inc_value(f"evidence/{outcome.status}")
        self.stats.inc_value(f"evidence/hits/{outcome.status}", len(outcome.hit_ids))
        if outcome.status != "ok":
            logger.warning("Evidence %s for %d hit(s): %s", outcome.status, len(outcome.hit_ids), outcome.note)

    async def close_spider(self, spider: Spider | None = None) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
        if self.collector is not None:
            self.collector.forget_pages()
            self.collector.store.close()
            self.collector = None
        if self.browser is not None:
            await shared_browser.release(self.browser)
            self.browser = None

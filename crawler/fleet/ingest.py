"""``adwatch fleet ingest``: the local crawl's item pipelines over the fleet's item stream.

The ingest is a Scrapy crawl whose spider fetches nothing: its ``start()`` reads items from the
stream (a consumer group, so several ingests may share the work) and yields them into the same
``ITEM_PIPELINES`` a local crawl runs — normalise, check, store, price history, index, evidence.
An entry is acknowledged (and deleted from the stream) only when the store has committed its
item (``items_stored``), or when a stage dropped it; an ingest killed at any point leaves its
unacknowledged entries pending, and reads them again first when it starts under the same name.
Another ingest claims them after ``ADWATCH_FLEET_LEASE_SECONDS``.  An item delivered twice is
stored once: the store keys ads by canonical URL and versions by content hash.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import redis
from scrapy import Spider, signals
from scrapy.crawler import Crawler, CrawlerProcess
from twisted.internet.threads import deferToThread
from twisted.python.failure import Failure

from crawler.config import AdWatchConfig, project_settings
from crawler.exceptions import FleetError
from crawler.fleet.config import FleetConfig
from crawler.fleet.queue import INGEST_GROUP, ITEM_FIELD, RAW_FIELD, FleetQueue
from crawler.items import AdItem
from crawler.run import warm_up
from crawler.signals import items_stored, store_flush_requested

logger = logging.getLogger(__name__)

#: Over the project's settings: no per-site crawl report, monitor or alerts for a stream of every site.
INGEST_SETTINGS: dict[str, Any] = {
    "EXTENSIONS": {
        "crawler.extensions.crawl_report.CrawlReportExtension": None,
        "crawler.extensions.crawl_monitor.CrawlMonitorExtension": None,
        "crawler.extensions.alerts.AlertsExtension": None,
    },
    "SPIDER_MIDDLEWARES": {"crawler.frontier.FrontierMiddleware": None},
}


ITEM_FIELDS = frozenset(field.name for field in dataclasses.fields(AdItem))


class RawArchiveCopy:
    """The ingest's own WARC file: each item's raw record as its worker archived it, byte for byte.

    Evidence is built where the store is; the record's digests stay those written when the page arrived.
    """

    def __init__(self, raw_dir: Path, consumer: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        name = re.sub(r"[^\w.-]", "_", consumer)
        self.path = raw_dir / f"fleet-{name}-{stamp}-{os.getpid()}.warc.gz"
        self._file: BinaryIO | None = None

    def add(self, record: bytes) -> str:
        """Append a record (a gzip member); its ``raw_ref``."""
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "ab")
        offset = self._file.seek(0, os.SEEK_END)
        self._file.write(record)
        self._file.flush()
        return f"{self.path.name}#{offset}"

    def close(self, **_: Any) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class StreamReader:
    """Reads the item stream as one consumer: first what it left pending, then entries idle elsewhere, then new."""

    def __init__(self, queue: FleetQueue, config: FleetConfig) -> None:
        self.queue = queue
        self.config = config
        self.stream = queue.key("items")
        self.backlog_from: str | None = "0"
        self.next_claim = 0.0

    def read(self) -> list[tuple[bytes, dict[bytes, bytes] | None]]:
        if self.backlog_from is not None:
            entries = self._group_read(self.backlog_from)
            if entries:
                self.backlog_from = entries[-1][0].decode()
                return entries
            self.backlog_from = None
        if time.monotonic() >= self.next_claim:
            self.next_claim = time.monotonic() + self.config.lease_seconds / 2
            claimed = self.queue.redis.xautoclaim(
                self.stream, INGEST_GROUP, self.config.consumer, int(self.config.lease_seconds * 1000),
                start_id="0-0", count=self.config.ingest_batch,
            )[1]
            if claimed:
                return claimed
        return self._group_read(">")

    def _group_read(self, since: str) -> list[tuple[bytes, dict[bytes, bytes] | None]]:
        answer = self.queue.redis.xreadgroup(
            INGEST_GROUP, self.config.consumer, {self.stream: since}, count=self.config.ingest_batch
        )
        return answer[0][1] if answer else []


class FleetIngestSpider(Spider):
    """Yields the stream's items into the item pipelines; acknowledges each once stored or dropped."""

    name = "fleet_ingest"

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> FleetIngestSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        if not crawler.settings.getbool("ADWATCH_STORE_ENABLED"):
            raise FleetError("the ingest stores what it acknowledges: ADWATCH_STORE_ENABLED must be on")
        spider.config = FleetConfig.from_settings(crawler.settings)
        spider.queue = FleetQueue(spider.config)
        spider.entries = {}
        spider.raw = RawArchiveCopy(AdWatchConfig.from_settings(crawler.settings).raw_dir, spider.config.consumer)
        crawler.signals.connect(spider.raw.close, signal=signals.spider_closed)
        crawler.signals.connect(spider._stored, signal=items_stored)
        crawler.signals.connect(spider._dropped, signal=signals.item_dropped)
        crawler.signals.connect(spider._failed, signal=signals.item_error)
        return spider

    async def start(self) -> AsyncIterator[AdItem]:
        self.queue.ensure_group()
        reader = StreamReader(self.queue, self.config)
        while True:
            try:
                entries = await asyncio.to_thread(reader.read)  # the pipelines go on while Redis answers
            except redis.RedisError as exc:
                self.crawler.stats.inc_value("fleet/redis_error")
                logger.warning("Item stream unreachable: %s", exc)
                entries = []
            if not entries:
                self.crawler.signals.send_catch_log(store_flush_requested)
                await asyncio.sleep(self.config.poll_interval)
                continue
            for entry_id, fields in entries:
                item = self._item(entry_id, fields)
                if item is not None:
                    yield item

    def _item(self, entry_id: bytes, fields: dict[bytes, bytes] | None) -> AdItem | None:
        if not fields or ITEM_FIELD not in fields:  # deleted while pending: nothing left to store
            self._ack([entry_id])
            return None
        record = json.loads(fields[ITEM_FIELD])
        # A worker of another AdWatch version may send fields this one lacks: they are left out.
        item = AdItem(**{name: record[name] for name in ITEM_FIELDS if name in record})
        if fields.get(RAW_FIELD):
            item.raw_ref = self.raw.add(fields[RAW_FIELD])
        self.entries[id(item)] = entry_id
        self.crawler.stats.inc_value("fleet/ingest/read")
        return item

    def _stored(self, items: list[AdItem], **_: Any) -> None:
        self._ack([self.entries.pop(id(item)) for item in items if id(item) in self.entries])

    def _dropped(self, item: Any, **_: Any) -> None:
        self._stored([item])

    def _failed(self, item: Any, failure: Any = None, **_: Any) -> None:
        entry_id = self.entries.pop(id(item), None)
        if entry_id is None:
            return
        logger.error("Item %s failed in the pipelines; kept on %s", getattr(item, "url", item),
                     self.queue.key("items", "failed"))
        record = json.dumps(dataclasses.asdict(item), ensure_ascii=False)
        self.queue.redis.xadd(self.queue.key("items", "failed"), {ITEM_FIELD: record, b"error": str(failure)})
        self._ack([entry_id])

    def _ack(self, entry_ids: list[bytes]) -> None:
        """Acknowledge stored entries, in a thread: one that never gets there is read again and stored once."""
        if entry_ids:
            acked = deferToThread(self._ack_now, entry_ids)
            acked.addCallbacks(self._acked, self._ack_failed, callbackArgs=(len(entry_ids),))

    def _acked(self, _: Any, count: int) -> None:
        self.crawler.stats.inc_value("fleet/ingest/acked", count)

    def _ack_failed(self, failure: Failure) -> None:
        self.crawler.stats.inc_value("fleet/redis_error")
        logger.warning("Could not acknowledge stored items (they will be read again, and stored once): %s",
                       failure.getErrorMessage())

    def _ack_now(self, entry_ids: list[bytes]) -> None:
        stream = self.queue.key("items")
        with self.queue.redis.pipeline(transaction=True) as pipe:
            pipe.xack(stream, INGEST_GROUP, *entry_ids)
            pipe.xdel(stream, *entry_ids)
            pipe.execute()


def run_ingest(url: str, overrides: dict[str, Any] | None = None) -> None:
    """Run the ingest until stopped (Ctrl-C, SIGTERM); a graceful stop stores and acknowledges what it read."""
    settings = project_settings({**INGEST_SETTINGS, "ADWATCH_FLEET_URL": url, **(overrides or {})})
    FleetConfig.from_settings(settings)
    warm_up(settings)
    process = CrawlerProcess(settings)
    process.crawl(process.create_crawler(FleetIngestSpider))
    process.start()

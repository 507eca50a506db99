"""The crawl frontier: a crawl with a ``JOBDIR`` that is killed (even with ``kill -9``) resumes without losing an ad.

Scrapy's own ``JOBDIR`` keeps the scheduler's queue only when a crawl closes cleanly, while its
``requests.seen`` grows as pages are discovered: after a SIGKILL the next run finds every
discovered page "seen", nothing queued, and ends at once.  AdWatch keeps the crawl's state in
one SQLite file in the job folder instead, ``frontier.sqlite``, every write committed as it
happens (WAL), so a killed process leaves it as it was at its last write:

* :class:`FrontierMiddleware` records each request as the engine schedules it (serialised as
  Scrapy's disk queues serialise requests), and marks a page done once everything it gave has
  been handled: its links recorded, its ads through the item pipelines (their canonical URL and
  content hash kept with the page);
* when a job folder is opened again, a done page whose ads the store does not hold (they were
  still waiting in the store's batch) is reopened; :class:`FrontierMiddleware` re-issues every
  page not done, after the spider's start requests, and :class:`FrontierDupeFilter` filters the
  pages done in earlier runs (the frontier replaces ``requests.seen``);
* :class:`FrontierScheduler` keeps its queue in memory: the frontier, not Scrapy's disk queue,
  carries the crawl over a restart, so no page is queued twice after a clean stop either.

A request that fails to download stays open and is tried again by the next run.
"""

from __future__ import annotations

import logging
import pickle
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from itemadapter import is_item
from scrapy import Request, signals
from scrapy.core.scheduler import Scheduler
from scrapy.crawler import Crawler
from scrapy.dupefilters import BaseDupeFilter, RFPDupeFilter
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.utils.job import job_dir
from scrapy.utils.request import request_from_dict

from crawler.config import AdWatchConfig
from crawler.items import AdItem

logger = logging.getLogger(__name__)

#: The frontier's file in the job folder.
FRONTIER_FILE = "frontier.sqlite"
#: Request meta key: the fingerprint of the recorded request this one stands for (a redirect keeps its origin's).
META_KEY = "adwatch_frontier_key"

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    fingerprint TEXT PRIMARY KEY,
    request BLOB NOT NULL,
    done INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS page_ads (
    fingerprint TEXT NOT NULL REFERENCES requests(fingerprint),
    canonical_url TEXT NOT NULL,
    content_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS page_ads_page ON page_ads(fingerprint);
"""

#: ``stored(canonical_url, content_hash)``: whether the store holds that version of an ad.
StoredCheck = Callable[[str, str], bool]


class Frontier:
    """Every request a crawl discovered, whether its page is done, and the ads each done page gave."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # Autocommit: each write is its own transaction.  synchronous=NORMAL in WAL mode survives
        # a killed process (the OS keeps the written pages); only a power cut may cost the last writes.
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def add(self, fingerprint: str, request: bytes) -> None:
        """Record a discovered request (once: a request recorded already keeps its state)."""
        self.conn.execute("INSERT OR IGNORE INTO requests(fingerprint, request) VALUES (?, ?)", (fingerprint, request))

    def mark_done(self, fingerprint: str, ads: list[tuple[str, str]]) -> None:
        """The page is done: its links are recorded and ``ads`` (canonical URL, content hash) went to the store."""
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute("DELETE FROM page_ads WHERE fingerprint = ?", (fingerprint,))
        self.conn.executemany(
            "INSERT INTO page_ads(fingerprint, canonical_url, content_hash) VALUES (?, ?, ?)",
            [(fingerprint, url, digest) for url, digest in ads],
        )
        self.conn.execute("UPDATE requests SET done = 1 WHERE fingerprint = ?", (fingerprint,))
        self.conn.execute("COMMIT")

    def reopen_unstored(self, stored: StoredCheck) -> int:
        """Reopen each done page with an ad the store does not hold; returns how many were reopened."""
        rows = self.conn.execute(
            "SELECT p.fingerprint, p.canonical_url, p.content_hash FROM page_ads p"
            " JOIN requests r ON r.fingerprint = p.fingerprint WHERE r.done = 1"
        ).fetchall()
        unstored = {fingerprint for fingerprint, url, digest in rows if not stored(url, digest)}
        self.conn.executemany("UPDATE requests SET done = 0 WHERE fingerprint = ?", [(f,) for f in unstored])
        return len(unstored)

    def done_fingerprints(self) -> set[str]:
        return {row[0] for row in self.conn.execute("SELECT fingerprint FROM requests WHERE done = 1")}

    def pending(self) -> Iterator[bytes]:
        """The serialised requests whose pages are not done, oldest first."""
        rows = self.conn.execute("SELECT request FROM requests WHERE done = 0 ORDER BY rowid").fetchall()
        return (row[0] for row in rows)

    def counts(self) -> dict[str, int]:
        done, total = self.conn.execute("SELECT coalesce(sum(done), 0), count(*) FROM requests").fetchone()
        return {"done": done, "pending": total - done}


@dataclass(frozen=True)
class FrontierConfig:
    """Where the frontier lives (``JOBDIR``; none: no frontier) and the store that done pages are checked against."""

    jobdir: Path | None
    store_path: Path | None = None

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> FrontierConfig:
        jobdir = job_dir(settings)
        store_path = AdWatchConfig.from_settings(settings).db_path
        return cls(Path(jobdir) if jobdir else None, store_path if settings.getbool("ADWATCH_STORE_ENABLED") else None)


_frontiers: WeakKeyDictionary[Crawler, Frontier | None] = WeakKeyDictionary()


def frontier_for(crawler: Crawler) -> Frontier | None:
    """The crawler's frontier, opened (and checked against the store) on first use; ``None`` without a JOBDIR."""
    if crawler not in _frontiers:
        config = FrontierConfig.from_settings(crawler.settings)
        _frontiers[crawler] = _open(config, crawler) if config.jobdir else None
    return _frontiers[crawler]


def _open(config: FrontierConfig, crawler: Crawler) -> Frontier:
    assert config.jobdir is not None
    frontier = Frontier(config.jobdir / FRONTIER_FILE)
    if config.store_path is not None and config.store_path.exists():
        from indexer.sqlite import SqliteStore

        with SqliteStore(config.store_path) as store:
            reopened = frontier.reopen_unstored(_stored_in(store))
        if reopened:
            crawler.stats.set_value("frontier/reopened", reopened)
            logger.info("Reopened %d done pages whose ads never reached the store", reopened)
    return frontier


def _stored_in(store: Any) -> StoredCheck:
    def stored(canonical_url: str, content_hash: str) -> bool:
        return any(v["content_hash"] == content_hash for v in store.ad_versions(canonical_url))

    return stored


class FrontierDupeFilter(RFPDupeFilter):
    """Scrapy's duplicate filter, in memory, that with a JOBDIR also filters the pages done in earlier runs."""

    def __init__(self, crawler: Crawler, frontier: Frontier | None, debug: bool = False) -> None:
        super().__init__(None, debug, fingerprinter=crawler.request_fingerprinter)  # no requests.seen
        self.crawler = crawler
        self.frontier = frontier
        self.done_before = frontier.done_fingerprints() if frontier is not None else set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FrontierDupeFilter:
        return cls(crawler, frontier_for(crawler), crawler.settings.getbool("DUPEFILTER_DEBUG"))

    def request_seen(self, request: Request) -> bool:
        return super().request_seen(request) or self._fingerprint(request).hex() in self.done_before

    def close(self, reason: str) -> None:
        super().close(reason)
        if self.frontier is not None:
            for name, count in self.frontier.counts().items():
                self.crawler.stats.set_value(f"frontier/{name}", count)
            self.frontier.close()


class FrontierScheduler(Scheduler):
    """Scrapy's scheduler, its queue in memory when the duplicate filter keeps a frontier in the JOBDIR."""

    def __init__(self, dupefilter: BaseDupeFilter, jobdir: str | None = None, **kwargs: Any) -> None:
        if getattr(dupefilter, "frontier", None) is not None:
            jobdir = None
        super().__init__(dupefilter, jobdir, **kwargs)


@dataclass
class _Page:
    """A response being handled: what it gave (items and requests), how much of that is handled, its ads."""

    key: str
    given: int = 0
    handled: int = 0
    output_done: bool = False
    ads: list[tuple[str, str]] = field(default_factory=list)


class FrontierMiddleware:
    """Records requests as they are scheduled, marks pages done once handled, and re-issues open pages at start.

    The spider's output reaches the engine through a queue (``CONCURRENT_ITEMS`` workers), so
    a page is done only when each request it gave has been scheduled and each item has left
    the pipelines, not when its callback returns.
    """

    def __init__(self, crawler: Crawler, frontier: Frontier) -> None:
        self.crawler = crawler
        self.frontier = frontier
        self._pages: dict[Response, _Page] = {}
        self._parents: dict[Request, Response] = {}
        crawler.signals.connect(self._request_scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(self._item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(self._output_handled, signal=signals.item_dropped)
        crawler.signals.connect(self._output_handled, signal=signals.item_error)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FrontierMiddleware:
        frontier = frontier_for(crawler)
        if frontier is None:
            raise NotConfigured("no JOBDIR: the crawl keeps no frontier")
        return cls(crawler, frontier)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for request in start:
            yield request
        reissued = 0
        for serialised in self.frontier.pending():
            reissued += 1
            yield request_from_dict(pickle.loads(serialised), spider=self.crawler.spider)
        if reissued:
            self.crawler.stats.set_value("frontier/reissued", reissued)
            logger.info("Resuming: re-issued %d pages not done in an earlier run", reissued)

    async def process_spider_output(self, response: Response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        key = response.meta.get(META_KEY)
        if key is None:  # a start request: issued afresh by every run, never recorded
            async for output in result:
                yield output
            return
        page = self._pages.setdefault(response, _Page(key))
        try:
            async for output in result:
                if isinstance(output, Request):
                    self._parents[output] = response
                    page.given += 1
                elif is_item(output):
                    page.given += 1
                yield output
            page.output_done = True
        finally:
            if not page.output_done:  # the callback failed: the page stays open for the next run
                self._pages.pop(response, None)
        self._settle(response, page)

    def _request_scheduled(self, request: Request, **_: Any) -> None:
        if not request.dont_filter and META_KEY not in request.meta:  # a redirect keeps its origin's key
            self._record(request)
        parent = self._parents.pop(request, None)
        if parent is not None:
            self._output_handled(request, parent)

    def _record(self, request: Request) -> None:
        fingerprint = self.crawler.request_fingerprinter.fingerprint(request).hex()
        request.meta[META_KEY] = fingerprint
        try:
            serialised = pickle.dumps(request.to_dict(spider=self.crawler.spider), protocol=4)
        except (pickle.PicklingError, AttributeError, TypeError, ValueError) as exc:
            self.crawler.stats.inc_value("frontier/unserializable")
            logger.warning("Cannot record %s in the frontier: %s", request, exc)
            return
        self.frontier.add(fingerprint, serialised)

    def _item_scraped(self, item: Any, response: Response, **_: Any) -> None:
        page = self._pages.get(response)
        if page is not None and isinstance(item, AdItem):
            page.ads.append((item.canonical_url, item.content_hash))
        self._output_handled(item, response)

    def _output_handled(self, output: Any, response: Response, **_: Any) -> None:
        page = self._pages.get(response)
        if page is not None:
            page.handled += 1
            self._settle(response, page)

    def _settle(self, response: Response, page: _Page) -> None:
        if page.output_done and page.handled == page.given:
            del self._pages[response]
            self.frontier.mark_done(page.key, page.ads)
            self.crawler.stats.inc_value("frontier/page_done")

"""``adwatch fleet worker``: Scrapy crawlers that take their requests from the fleet's Redis.

A worker runs one crawler per site profile in one process.  Each crawler's
:class:`FleetWorkerMiddleware` leases the site's requests from Redis as its
politeness allows (fleet-wide), hands them to the engine, and settles each page
as one step (:meth:`FleetQueue.settle`): the page's items onto the item stream,
its links onto the queue, its lease released.  Nothing the spider yields reaches
the local engine or item pipelines; the ingest runs those.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import pickle
import socket
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable
from typing import Any

import redis
from itemadapter import is_item
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.dupefilters import BaseDupeFilter
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.request import request_from_dict
from twisted.internet.task import LoopingCall
from twisted.internet.threads import deferToThread
from twisted.python.failure import Failure

from crawler.config import AdWatchConfig, project_settings
from crawler.exceptions import EvidenceError
from crawler.fleet.config import FleetConfig
from crawler.fleet.queue import FleetQueue, Lease, Outgoing, Politeness, Settled, is_start_marker
from crawler.profiles import Profile, load_profiles
from crawler.signals import fleet_request_failed
from crawler.spiders.profile import ProfileSpider
from evidence.warc import read_raw_record

logger = logging.getLogger(__name__)

#: Request meta key: the lease a request (and any redirect or retry of it) was fetched under.
LEASE_META_KEY = "adwatch_fleet_lease"

#: Pages a crawler holds leased at most, downloaded or not, in multiples of its site's concurrency: a bound on
#: the pages waiting here to be parsed while their places fetch others.
MAX_HELD = 2

#: What a worker's crawlers run with, over the project's settings: the fleet's Bloom filter as the
#: duplicate filter, no local item pipelines or crawl reports (the ingest's), and no
#: local delay or page limit (the fleet holds them for every worker together).
WORKER_SETTINGS: dict[str, Any] = {
    "ITEM_PIPELINES": {},
    "EXTENSIONS": {
        "crawler.extensions.crawl_report.CrawlReportExtension": None,
        "crawler.extensions.crawl_monitor.CrawlMonitorExtension": None,
        "crawler.extensions.alerts.AlertsExtension": None,
    },
    "SPIDER_MIDDLEWARES": {
        "crawler.frontier.FrontierMiddleware": None,
        "crawler.fleet.worker.FleetWorkerMiddleware": 5,
    },
    "SCHEDULER": "scrapy.core.scheduler.Scheduler",
    "DUPEFILTER_CLASS": "crawler.fleet.worker.FleetDupeFilter",
    "DOWNLOAD_DELAY": 0,
    "CLOSESPIDER_PAGECOUNT": 0,
}


class FleetSpiderMixin:
    """Turns a profile spider into a fleet worker's: start requests come from a start marker on the queue."""

    crawler: Crawler

    async def start(self) -> AsyncIterator[Request]:
        self._requested: set[str] = set()
        self._judged: set[tuple[int, str]] = set()
        return
        yield  # an async generator that yields nothing: the worker waits for the queue

    def forget_links(self) -> None:
        """Forget the links judged in an earlier crawl of the site: a new crawl follows them again."""
        self._requested = set()
        self._judged = set()

    async def start_requests_of_crawl(self) -> list[Request]:
        """The profile's start requests, for a crawl started with ``adwatch crawl SITE --fleet``."""
        return [request async for request in ProfileSpider.start(self)]  # type: ignore[arg-type]

    def on_error(self, failure: Any) -> None:
        super().on_error(failure)  # type: ignore[misc]
        self.crawler.signals.send_catch_log(fleet_request_failed, request=failure.request)


class FleetDupeFilter(BaseDupeFilter):
    """The fleet's filter for what the local scheduler sees: a redirect to a page the fleet has seen is dropped.

    Requests found on pages were filtered when they were queued on Redis (FleetQueue.settle);
    only a redirect's new request reaches the local scheduler unseen by the fleet.
    """

    def __init__(self, crawler: Crawler, queue: FleetQueue) -> None:
        self.crawler = crawler
        self.queue = queue

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FleetDupeFilter:
        return cls(crawler, FleetQueue(FleetConfig.from_settings(crawler.settings)))

    def request_seen(self, request: Request) -> bool:
        if not request.meta.get("redirect_times"):
            return False
        assert self.crawler.spider is not None
        fingerprint = self.crawler.request_fingerprinter.fingerprint(request)
        return self.queue.mark_seen(self.crawler.spider.name, fingerprint)


def fleet_spider(profile: Profile) -> type[ProfileSpider]:
    base = ProfileSpider.for_profile(profile)
    return type(base.__name__, (FleetSpiderMixin, base), {})


def worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class FleetWorkerMiddleware:
    """Leases one site's requests from the fleet, settles its pages, renews its leases, reports its pace."""

    def __init__(self, crawler: Crawler, config: FleetConfig) -> None:
        self.crawler = crawler
        self.config = config
        self.queue = FleetQueue(config)
        self.raw_dir = AdWatchConfig.from_settings(crawler.settings).raw_dir
        self.stats = crawler.stats
        self.leases: set[str] = set()
        self.fetching: set[str] = set()  # leases handed to the engine, not yet downloaded
        self.downloaded: list[str] = []  # leases downloaded since the last lease call: their places are freed by it
        self.settling: set[str] = set()
        self._polling = False
        self._poll_again = False
        self._beating = False
        self.robots: dict[str, Any] = {}  # netloc → the robots.txt parser the downloader built for it
        self.page_times: deque[float] = deque()
        self.pages = 0
        self.last_page = 0.0
        self.worker = worker_id()
        self.started = time.time()
        self.spider: Spider | None = None
        self.politeness = Politeness(1, 0.0)
        self.crawl_number = 0
        self._loops: list[LoopingCall] = []
        for handler, signal in (
            (self._open, signals.spider_opened),
            (self._keep_open, signals.spider_idle),
            (self._close, signals.spider_closed),
            (self._page, signals.response_received),
            (self._failed, fleet_request_failed),
            (self._failed, signals.request_dropped),
            (self._errored, signals.spider_error),
            (self._robots_parsed, signals.robots_parsed),
        ):
            crawler.signals.connect(handler, signal=signal)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FleetWorkerMiddleware:
        if not crawler.settings.get("ADWATCH_FLEET_URL"):
            raise NotConfigured("ADWATCH_FLEET_URL is not set")
        return cls(crawler, FleetConfig.from_settings(crawler.settings))

    @property
    def site(self) -> str:
        assert self.spider is not None
        return self.spider.name

    def _open(self, spider: Spider) -> None:
        self.spider = spider
        politeness = spider.profile.politeness
        self.politeness = Politeness(politeness.concurrency, politeness.download_delay, politeness.max_pages)
        for call, interval in ((self.poll, self.config.poll_interval), (self.heartbeat, self.config.heartbeat)):
            loop = LoopingCall(call)
            loop.start(interval, now=False)
            self._loops.append(loop)

    def _keep_open(self, spider: Spider) -> None:
        raise DontCloseSpider("a fleet worker waits for work")

    def _close(self, spider: Spider) -> None:
        for loop in self._loops:
            if loop.running:
                loop.stop()
        self._loops.clear()

    def poll(self, at_once: bool = False) -> None:
        """Take leases while the site has room, here and fleet-wide: one lease call at a time, in a thread.

        ``at_once`` (a place was just freed) asks again as soon as a call in progress answers.
        """
        concurrency = self.politeness.concurrency
        room = min(concurrency - len(self.fetching), MAX_HELD * concurrency - len(self.leases))
        if room <= 0:
            return
        if self._polling:
            self._poll_again = self._poll_again or at_once
            return
        self._polling = True
        downloaded, self.downloaded = self.downloaded, []
        asked = deferToThread(self.queue.lease_many, self.site, self.politeness, room, downloaded)
        asked.addCallbacks(self._leased, self._call_failed, errbackArgs=("lease",))
        asked.addBoth(self._polled)

    def _polled(self, _: Any) -> None:
        self._polling = False
        if self._poll_again:
            self._poll_again = False
            self.poll()

    def _leased(self, leases: list[Lease]) -> None:
        for lease in leases:
            try:
                self._take(lease)
            except Exception:  # the loop goes on; the lease, never renewed, expires and ends on the dead list
                self.stats.inc_value("fleet/take_error")
                logger.exception("Could not take a request of %s", self.site)

    def _call_failed(self, failure: Failure, what: str) -> None:
        """A fleet call that failed (Redis down even after its retries): counted and logged; the next tick retries."""
        self.stats.inc_value("fleet/redis_error" if failure.check(redis.RedisError) else "fleet/error")
        if what == "settle":
            logger.error("Could not settle a page of %s (its lease will expire and it is fetched again): %s",
                         self.site, failure.value)
        else:
            logger.warning("Fleet %s failed for %s: %s", what, self.site, failure.getErrorMessage())

    def _take(self, lease: Lease) -> None:
        """Fetch a leased request; only a request handed to the engine has its lease renewed."""
        self.stats.inc_value("fleet/leased")
        if lease.crawl != self.crawl_number:
            self.crawl_number = lease.crawl
            self.spider.forget_links()  # type: ignore[union-attr]
        data = pickle.loads(lease.payload)
        if is_start_marker(data):
            self._hold(lease.lease_id)
            deferred_from_coro(self._issue_start(lease.lease_id))
            return
        request = request_from_dict(data, spider=self.spider)
        request.meta[LEASE_META_KEY] = lease.lease_id
        self._hold(lease.lease_id)
        self.crawler.engine.crawl(request)

    def _hold(self, lease_id: str) -> None:
        """A lease renewed until its page is settled, and a place held fleet-wide until it is downloaded."""
        self.leases.add(lease_id)
        self.fetching.add(lease_id)

    async def _issue_start(self, lease_id: str) -> None:
        try:
            requests = await self.spider.start_requests_of_crawl()  # type: ignore[union-attr]
        except Exception:
            self.leases.discard(lease_id)  # not renewed: the marker comes back for another try
            self.fetching.discard(lease_id)
            logger.exception("Could not build the start requests of %s", self.site)
            return
        self.settle(lease_id, [], requests)

    async def process_spider_output(self, response: Response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        lease_id = response.meta.get(LEASE_META_KEY)
        items: list[Any] = []
        requests: list[Request] = []
        try:
            async for output in result:
                if isinstance(output, Request):
                    requests.append(output)
                elif is_item(output):
                    items.append(output)
        finally:
            if lease_id is not None:
                self.settle(lease_id, items, requests)
        return
        yield  # the page's output went to the fleet, none to the local engine

    def settle(self, lease_id: str, items: Iterable[Any], requests: Iterable[Request]) -> None:
        """Send a page's items and requests and release its lease in one step (see FleetQueue.settle).

        The page's output is serialised here; the Redis call runs in a thread, so the reactor goes on
        fetching and parsing while it waits for Redis.
        """
        if lease_id in self.settling:
            return
        records = {ref: self._raw(ref) for ref in {getattr(item, "raw_ref", "") for item in items} if ref}
        encoded = [(json.dumps(dataclasses.asdict(item), ensure_ascii=False).encode(), records.get(item.raw_ref, b""))
                   for item in items]
        outgoing = [self._outgoing(request) for request in requests if not self._forbidden(request)]
        self.settling.add(lease_id)
        sent = deferToThread(self.queue.settle, self.site, lease_id, encoded, outgoing, self.politeness)
        sent.addCallbacks(self._settled, self._call_failed, errbackArgs=("settle",))
        sent.addBoth(self._released, lease_id)

    def _settled(self, settled: Settled) -> None:
        if settled.stale:
            self.stats.inc_value("fleet/stale_lease")
            return
        for name in ("items", "queued", "seen", "over_limit"):
            self.stats.inc_value(f"fleet/{name}", getattr(settled, name))

    def _released(self, _: Any, lease_id: str) -> None:
        self.settling.discard(lease_id)
        self.leases.discard(lease_id)
        self.fetching.discard(lease_id)
        self.poll(at_once=True)  # the freed place is taken now, not at the next tick

    def _robots_parsed(self, robotparser: Any, request: Request, **_: Any) -> None:
        self.robots[urlparse_cached(request).netloc] = robotparser

    def _forbidden(self, request: Request) -> bool:
        """Whether robots.txt forbids ``request``, judged as RobotsTxtMiddleware would once it is fetched.

        Such a request is dropped here, not queued: it would take a lease and a fleet-wide place for nothing.
        """
        parser = self.robots.get(urlparse_cached(request).netloc)
        if parser is None or request.meta.get("dont_obey_robotstxt"):
            return False
        settings = self.crawler.settings
        agent = settings["ROBOTSTXT_USER_AGENT"] or request.headers.get(b"User-Agent", settings["USER_AGENT"])
        if parser.allowed(request.url, agent):
            return False
        self.stats.inc_value("robotstxt/forbidden")
        return True

    def _raw(self, raw_ref: str) -> bytes:
        """A page's raw WARC record, byte for byte, for the ingest's own archive (evidence reads it there)."""
        try:
            return read_raw_record(self.raw_dir, raw_ref).data
        except EvidenceError as exc:
            self.stats.inc_value("fleet/raw_unreadable")
            logger.warning("Sending the items of %s without its raw record: %s", raw_ref, exc)
            return b""

    def _outgoing(self, request: Request) -> Outgoing:
        request.meta.pop(LEASE_META_KEY, None)
        payload = pickle.dumps(request.to_dict(spider=self.spider), protocol=4)
        fingerprint = self.crawler.request_fingerprinter.fingerprint(request)
        return Outgoing(payload, fingerprint, force=request.dont_filter)

    def _failed(self, request: Request, **_: Any) -> None:
        lease_id = request.meta.get(LEASE_META_KEY)
        if lease_id in self.leases:
            self.settle(lease_id, [], [])

    def _errored(self, failure: Any, response: Response | None = None, **_: Any) -> None:
        if response is not None:
            self._failed(response.request)

    def _page(self, response: Response, **_: Any) -> None:
        lease_id = response.meta.get(LEASE_META_KEY)
        if lease_id in self.fetching:  # downloaded: its place is freed (the lease is held until settled)
            self.fetching.discard(lease_id)
            self.downloaded.append(lease_id)
            self.poll(at_once=True)
        now = time.time()
        self.pages += 1
        self.last_page = now
        self.page_times.append(now)

    def heartbeat(self) -> None:
        """Renew this crawler's leases and publish its pace under the worker's key (one beat at a time)."""
        if self._beating:
            return
        while self.page_times and self.page_times[0] < time.time() - 60:
            self.page_times.popleft()
        key = self.queue.key("worker", self.worker)
        fields = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": self.started,
            f"site:{self.site}:pages": self.pages,
            f"site:{self.site}:per_minute": len(self.page_times),
            f"site:{self.site}:last": self.last_page,
            f"site:{self.site}:in_flight": len(self.leases),
        }
        self._beating = True
        sent = deferToThread(self._publish, key, fields, list(self.leases))
        sent.addErrback(self._call_failed, "heartbeat")
        sent.addBoth(self._beaten)

    def _beaten(self, _: Any) -> None:
        self._beating = False

    def _publish(self, key: str, fields: dict[str, Any], leases: list[str]) -> None:
        """Renew the leases and publish the pace (in a thread)."""
        self.queue.renew(self.site, leases)
        with self.queue.redis.pipeline(transaction=False) as pipe:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, max(2, int(self.config.heartbeat * 3 + 1)))
            pipe.execute()


def run_worker(url: str, sites: Iterable[str] = (), overrides: dict[str, Any] | None = None) -> None:
    """Run a worker for ``sites`` (every profile when empty) until stopped (Ctrl-C, SIGTERM)."""
    settings = project_settings({**WORKER_SETTINGS, "ADWATCH_FLEET_URL": url, **(overrides or {})})
    FleetConfig.from_settings(settings)  # contradictory settings stop here, before any crawler opens
    profiles = load_profiles(AdWatchConfig.from_settings(settings).profile_dirs)
    wanted = list(sites) or sorted(profiles)
    process = CrawlerProcess(settings)
    for site in wanted:
        process.crawl(process.create_crawler(fleet_spider(profiles[site])))
    process.start()

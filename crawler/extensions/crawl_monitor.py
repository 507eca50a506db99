"""Extension: each site's crawl reports itself to the crawl monitor while it runs, and writes its own log file.

When the spider opens: a ``crawl_monitor`` row (running) and a log file
``<ADWATCH_MONITOR_LOG_DIR>/<site>/<start>-<pid>.log`` that receives this
crawl's log records (and the process's records that name no spider).  Every
``ADWATCH_MONITOR_INTERVAL`` seconds: the figures so far (and a progress line in
the log when they changed), and whether the console
asked it to stop (then the spider closes with reason ``stopped``, its JOBDIR
kept).  When the engine stops, after Scrapy's last log lines: the final
figures and the reason the spider closed, and the log file is closed.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import create_looping_call
from scrapy.utils.defer import deferred_from_coro

from crawler.extensions.crawl_report import error_count
from crawler.monitor import STOPPED, MonitorConfig, MonitorStore, utc_now

logger = logging.getLogger(__name__)


class SpiderLogFilter(logging.Filter):
    """Records of this spider, and records that name none; not those of other spiders in the same process."""

    def __init__(self, spider: Spider) -> None:
        super().__init__()
        self.spider = spider

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "spider", self.spider) is self.spider


class CrawlMonitorExtension:
    def __init__(self, crawler: Crawler, config: MonitorConfig) -> None:
        self.crawler = crawler
        self.config = config
        self.store: MonitorStore | None = None
        self.run_id = 0
        self.handler: logging.Handler | None = None
        self.beat = create_looping_call(self.tick)
        self.spider: Spider | None = None
        self.closing: tuple[dict[str, int], str] | None = None
        self.reported: dict[str, int] = {}
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self.engine_stopped, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlMonitorExtension:
        config = MonitorConfig.from_settings(crawler.settings)
        if not config.enabled:
            raise NotConfigured("ADWATCH_MONITOR_ENABLED is off")
        return cls(crawler, config)

    def figures(self) -> dict[str, int]:
        """Pages, items, hits the rule check (and price history) found so far, new or not, and failed requests."""
        stats = self.crawler.stats.get_stats()
        return {
            "pages": int(stats.get("response_received_count", 0)),
            "items": int(stats.get("item_scraped_count", 0)),
            "hits": sum(int(v) for k, v in stats.items() if k.startswith(("rules/hit/", "price/hit/"))),
            "errors": error_count(stats),
        }

    def spider_opened(self, spider: Spider) -> None:
        self.spider = spider
        self.store = MonitorStore(self.config.db_path)
        folder = self.config.log_dir / spider.name
        folder.mkdir(parents=True, exist_ok=True)
        log_path = folder / f"{utc_now():%Y%m%d-%H%M%S}-{os.getpid()}.log"
        self.run_id = self.store.open_run(spider.name, self.config.interval, log_path)
        self.handler = self._log_handler(spider, log_path)
        logging.getLogger().addHandler(self.handler)
        logger.info("运行监控 crawl monitor: run %d, log %s", self.run_id, log_path, extra={"spider": spider})
        self.beat.start(self.config.interval, now=False)

    def _log_handler(self, spider: Spider, path: Path) -> logging.Handler:
        settings = self.crawler.settings
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setLevel(settings.get("LOG_LEVEL"))
        handler.setFormatter(logging.Formatter(settings.get("LOG_FORMAT"), settings.get("LOG_DATEFORMAT")))
        handler.addFilter(SpiderLogFilter(spider))
        return handler

    def tick(self) -> None:
        if self.store is None or self.spider is None:
            return
        figures = self.figures()
        self.store.report(self.run_id, figures)
        if figures != self.reported:
            self.reported = figures
            logger.info("进度 progress: 页面 pages %(pages)d · 广告 items %(items)d · 命中 hits %(hits)d · "
                        "错误 errors %(errors)d", figures, extra={"spider": self.spider})
        if self.store.stop_requested(self.run_id) and self.crawler.engine is not None:
            logger.info("控制台要求停止 stop asked from the console", extra={"spider": self.spider})
            self.beat.stop()
            deferred_from_coro(self.crawler.engine.close_spider_async(reason=STOPPED))

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.beat.running:
            self.beat.stop()
        self.closing = (self.figures(), reason)

    def engine_stopped(self) -> None:
        """The run is marked finished only now, after Scrapy's closing lines (the stats, "Spider closed") are in
        its log: whoever sees it finished can read its whole log."""
        if self.handler is not None:
            logging.getLogger().removeHandler(self.handler)
            self.handler.close()
            self.handler = None
        if self.store is not None:
            figures, reason = self.closing or (self.figures(), "")
            self.store.close_run(self.run_id, figures, reason)
            self.store.close()
            self.store = None

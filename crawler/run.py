"""Run crawls in this process: the engine behind ``adwatch crawl`` and ``adwatch demo``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import BaseSettings

from crawler.alerts import AlertsConfig
from crawler.config import AdWatchConfig, project_settings
from crawler.extensions.crawl_report import error_count
from crawler.pipelines.rule_check import shared_engine
from indexer.tokenize import token_string

#: Called as ``on_progress(site, event)`` with event ``"page"``, ``"item"`` or ``"done"``.
ProgressCallback = Callable[[str, str], None]


@dataclass
class SiteResult:
    site: str
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return self.stats.get("response_received_count", 0)

    @property
    def items(self) -> int:
        return self.stats.get("item_scraped_count", 0)

    @property
    def errors(self) -> int:
        return error_count(self.stats)

    @property
    def finish_reason(self) -> str:
        return str(self.stats.get("finish_reason", ""))


def _watch(crawler: Crawler, site: str, on_progress: ProgressCallback) -> None:
    def page(**_: Any) -> None:
        on_progress(site, "page")

    def item(**_: Any) -> None:
        on_progress(site, "item")

    def done(**_: Any) -> None:
        on_progress(site, "done")

    # weak=False: these closures have no other reference to keep them alive.
    crawler.signals.connect(page, signal=signals.response_received, weak=False)
    crawler.signals.connect(item, signal=signals.item_scraped, weak=False)
    crawler.signals.connect(done, signal=signals.spider_closed, weak=False)


def warm_up(settings: BaseSettings) -> None:
    """Compile the rulebook and load jieba's dictionary once, before any crawler opens.

    Done lazily, the first crawler to open would stall every other one's
    downloads for seconds while the dictionaries load.
    """
    config = AdWatchConfig.from_settings(settings)
    if settings.getbool("ADWATCH_RULE_CHECK_ENABLED"):
        shared_engine(config.rules_dir).warm_up()
    if settings.getbool("ADWATCH_STORE_ENABLED"):
        token_string("")


def crawl_sites(
    sites: Iterable[str],
    overrides: dict[str, Any] | None = None,
    on_progress: ProgressCallback | None = None,
) -> list[SiteResult]:
    """Crawl ``sites`` (profile names) together and return each one's stats.

    Runs the Twisted reactor, so it can be called once per process.
    """
    settings = project_settings(overrides)
    AlertsConfig.from_settings(settings)  # an invalid alerts file stops here, named, before any crawl starts
    warm_up(settings)
    process = CrawlerProcess(settings)
    crawlers: list[tuple[str, Crawler]] = []
    for site in sites:
        crawler = process.create_crawler(site)
        if on_progress is not None:
            _watch(crawler, site, on_progress)
        process.crawl(crawler)
        crawlers.append((site, crawler))
    process.start()
    return [SiteResult(site, dict(crawler.stats.get_stats())) for site, crawler in crawlers]

"""Extension: when a site's crawl ends, send what the alert rules found, one message per channel.

However many hits a crawl stores, each channel gets one message for it.  The
facts are the crawl's stats and, read-only from the store, its new hits and the
site's recent runs; they are gathered and sent in a thread, so a slow SMTP
server holds up no other crawl in the process, and a failure is logged, never
raised (see crawler/alert_channels.py).
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from crawler.alert_channels import deliver
from crawler.alerts import AlertsConfig, AlertsFile, CrawlFacts, alerts_for, store_facts
from crawler.config import AdWatchConfig

logger = logging.getLogger(__name__)


class AlertsExtension:
    def __init__(self, crawler: Crawler, config: AlertsConfig, plan: AlertsFile) -> None:
        self.stats = crawler.stats
        self.config = config
        self.plan = plan
        self.db_path = AdWatchConfig.from_settings(crawler.settings).db_path
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AlertsExtension:
        config = AlertsConfig.from_settings(crawler.settings)
        if config.plan is None:
            raise NotConfigured("no ADWATCH_ALERTS_FILE, or ADWATCH_ALERTS_ENABLED is off")
        return cls(crawler, config, config.plan)

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        """Scrapy waits for this before it closes the crawl's stats; nothing raised here reaches the crawl."""
        stats = dict(self.stats.get_stats())
        try:
            sent, failures = await maybe_deferred_to_future(deferToThread(self._alert, spider.name, stats, reason))
        except Exception:
            self.stats.inc_value("adwatch/alerts/failed")
            logger.exception("告警未能生成 alerts not made for site %s", spider.name)
            return
        self.stats.inc_value("adwatch/alerts/sent", sent - len(failures))
        self.stats.inc_value("adwatch/alerts/failed", len(failures))

    def _alert(self, site: str, stats: dict[str, Any], reason: str) -> tuple[int, dict[str, str]]:
        """In a thread: gather the facts, send each channel its message; the count sent and the failures."""
        since = stats.get("start_time")
        found = store_facts(self.db_path, site, since, self.plan.rules) if since else {}
        facts = CrawlFacts.from_stats(site, stats, reason, **found)
        alerts = alerts_for(self.plan, facts, self.config.console_url)
        return len(alerts), deliver(alerts, self.config.timeout)

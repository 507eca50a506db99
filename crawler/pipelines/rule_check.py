"""Pipeline stage 2: check each ad against the rulebook."""

from __future__ import annotations

from dataclasses import asdict
from functools import lru_cache
from pathlib import Path

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.config import AdWatchConfig
from crawler.items import AdItem
from rules.engine import RuleEngine


@lru_cache(maxsize=4)
def shared_engine(rules_dir: Path | None) -> RuleEngine:
    """One compiled engine per rulebook for every crawler in the process (the demo runs six)."""
    return RuleEngine.from_directory(rules_dir) if rules_dir else RuleEngine.from_directory()


class RuleCheckPipeline:
    """Fills ``categories``, ``hits`` and ``risk``; hit offsets are into ``AdItem.document()``."""

    def __init__(self, crawler: Crawler, engine: RuleEngine) -> None:
        self.stats = crawler.stats
        self.engine = engine

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RuleCheckPipeline:
        if not crawler.settings.getbool("ADWATCH_RULE_CHECK_ENABLED"):
            raise NotConfigured("ADWATCH_RULE_CHECK_ENABLED is off")
        return cls(crawler, shared_engine(AdWatchConfig.from_settings(crawler.settings).rules_dir))

    def process_item(self, item: AdItem, spider: Spider | None = None) -> AdItem:
        result = self.engine.check(item.document(), title=item.title, category_hints=item.category_hints)
        item.categories = list(result.categories)
        item.hits = [asdict(hit) for hit in result.hits]
        item.risk = result.risk
        self.stats.inc_value("rules/checked")
        if result.flagged:
            self.stats.inc_value("rules/flagged")
        for hit in result.hits:
            self.stats.inc_value(f"rules/hit/{hit.rule_id}")
        return item

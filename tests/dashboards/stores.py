"""Helpers for the console's specification tests: real stores filled with really checked ads, real services.

Items go through the crawler's own normalise and rule-check stages (``NormalisePipeline``,
``RuleCheckPipeline`` with the shipped rulebook), so the hits in the store are the hits a crawl would store.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scrapy.utils.test import get_crawler
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.config import project_settings
from crawler.items import AdItem
from crawler.pipelines.normalise import NormalisePipeline
from crawler.pipelines.rule_check import RuleCheckPipeline, shared_engine
from dashboards.accounts import User
from dashboards.config import ConsoleConfig
from dashboards.services import Services
from indexer.price_history import PriceHistory, PriceSighting
from indexer.sqlite import SqliteStore
from rules.price_tricks import find_tricks

#: Bodies the shipped rulebook flags (checked in the tests that use them, not assumed).
CURE_CLAIM = "本品根治糖尿病，有效率98%"
SUPERLATIVE = "国家级最好的纯棉T恤，舒适透气"
HARMLESS = "纯棉T恤，舒适透气，尺码齐全"
RAW_REF = "crawl.warc.gz#0"


def checked_ad(url: str, site: str, title: str, body: str, fetched_at: str, *, prices: list[str] | None = None,
               seller: str = "某商家") -> AdItem:
    """An item as the crawl pipeline hands it to the store: normalised, then checked by the real rule engine."""
    crawler = get_crawler()
    item = AdItem(url=url, site=site, canonical_url=url, title=title, body=body, seller=seller,
                  price_texts=prices or [], fetched_at=fetched_at, http_status=200, raw_ref=RAW_REF)
    item = NormalisePipeline(crawler).process_item(item)
    return RuleCheckPipeline(crawler, shared_engine(None)).process_item(item)


def save(store: SqliteStore, *items: AdItem) -> list[str]:
    """Store ``items``; returns the ids of their hits, in order."""
    return [hit_id for outcome in store.save_items(items) for hit_id in outcome.hit_ids]


def add_price_hits(store: SqliteStore, url: str, site: str, fetched_at: str) -> list[str]:
    """A listing claiming 5折 whose prices say otherwise, found by the real price-history check; its hit ids."""
    item = checked_ad(url, site, "夏季连衣裙", "全场5折，连衣裙清仓", fetched_at, prices=["¥90.00", "¥100.00"])
    store.save_items([item])
    history = PriceHistory(store)
    [ad_id] = history.record([PriceSighting(url, fetched_at, tuple(item.prices), tuple(item.price_texts))])
    findings = find_tricks(history.history(ad_id))
    assert findings, "the price-history check should flag a 5折 claim on ¥90 against ¥100"
    return history.save_findings(ad_id, findings)


def console_config(data_dir: Path, **overrides: object) -> ConsoleConfig:
    """The console's configuration with everything under ``data_dir`` and the SQLite store as backend; evidence a
    transfer captures is built from the raw archive alone (the ads' hosts exist nowhere: no browser is started)."""
    return ConsoleConfig.from_settings(project_settings(
        {"ADWATCH_DATA_DIR": str(data_dir), "ADWATCH_DB_PATH": "", "ADWATCH_CONSOLE_DB_PATH": "",
         "ADWATCH_INDEX": "", "ADWATCH_EVIDENCE_DIR": "", "ADWATCH_EVIDENCE_SCREENSHOT_ENABLED": False, **overrides}))


def write_raw_archive(data_dir: Path) -> None:
    """The crawl's raw archive the checked ads point at (``crawl.warc.gz#0``): one response, as the crawl's
    raw-archive middleware writes it."""
    raw = data_dir / "raw" / RAW_REF.partition("#")[0]
    raw.parent.mkdir(parents=True, exist_ok=True)
    with raw.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        body = f"<html><body><h1>糖友神药</h1><p>{CURE_CLAIM}</p></body></html>".encode()
        writer.write_record(writer.create_warc_record("http://healthfood.test/item/1.html", "response",
                                                      payload=io.BytesIO(body), http_headers=headers))


@contextmanager
def open_services(data_dir: Path, **overrides: object) -> Iterator[Services]:
    write_raw_archive(data_dir)
    services = Services(console_config(data_dir, **overrides))
    try:
        yield services
    finally:
        services.close()


def add_user(services: Services, username: str, role: str, display_name: str = "") -> User:
    return services.accounts.add(username, f"{username}-password-123", role, display_name)

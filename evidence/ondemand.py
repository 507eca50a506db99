"""Evidence captured when it is needed: a transfer to the inspection corps holds no ad without evidence.

Ads of sites the crawl did not capture (``ADWATCH_EVIDENCE_SITES``), or whose
capture failed, are captured when a case asks for them — the same collector as
the crawl's (raw response, browser screenshot and DOM, package, record), on the
ad version the case holds.  The page as it is now is what the browser sees; the
capture record keeps both times.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from crawler.items import AdItem
from evidence.browser import SharedBrowser
from evidence.collector import EvidenceCollector
from evidence.config import EvidenceConfig
from evidence.store import EvidenceStore
from indexer.sqlite import SqliteStore

logger = logging.getLogger(__name__)


def capture_missing(config: EvidenceConfig, hit_ids: list[str]) -> list[str]:
    """Capture evidence now for the ads of ``hit_ids`` that have none; returns the hits still without evidence.

    Runs in a thread of its own (its own connections and event loop), so any caller may wait for it.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="evidence-on-demand") as pool:
        return pool.submit(_capture_missing, config, list(hit_ids)).result()


def _capture_missing(config: EvidenceConfig, hit_ids: list[str]) -> list[str]:
    with EvidenceStore(config.db_path) as evidence, SqliteStore(config.db_path) as store:
        items = store.items_of_hits([hit_id for hit_id in hit_ids if not evidence.captured([hit_id])])
        if items:
            logger.info("Capturing evidence for %d ad version(s) on demand", len(items))
            asyncio.run(_collect(config, evidence, items))
        return [hit_id for hit_id in hit_ids if not evidence.captured([hit_id])]


async def _collect(config: EvidenceConfig, evidence: EvidenceStore, items: list[AdItem]) -> None:
    executable = config.browser_path()
    browser = SharedBrowser(executable, config.concurrency) if executable and config.screenshot else None
    collector = EvidenceCollector(config, evidence, browser)
    try:
        for item in items:
            try:
                outcome = await collector.collect(item)
            except Exception as exc:  # noqa: BLE001 — nothing to package (no archive, no page): recorded, not raised
                logger.warning("No evidence could be captured for %s: %s", item.url, exc)
                hit_ids = [hit["hit_id"] for hit in item.hits]
                evidence.record(hit_ids, "", "", "missing", f"未能取证 not captured: {exc}")
                continue
            logger.info("Evidence %s for %s (%d hits)", outcome.status, item.url, len(outcome.hit_ids))
    finally:
        if browser is not None:
            await browser.close()

"""Evidence for one flagged ad: read the raw record, open the page, write the package, record it per hit.

When the evidence storage is full or unwritable the hits are recorded as
``missing`` with the reason — never dropped; when the browser falls short
(page never finished loading, browser crashed) the package is still written,
as ``partial``, with the notes in its capture record.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from crawler.exceptions import EvidenceError
from crawler.items import AdItem
from evidence.browser import SharedBrowser
from evidence.capture import PageCapture, capture_page
from evidence.config import EvidenceConfig
from evidence.package import build_package
from evidence.record import capture_record, item_hits
from evidence.store import EvidenceStore
from evidence.warc import RawRecord, read_raw_record, write_evidence_warc

logger = logging.getLogger(__name__)

SCREENSHOT = "screenshot.png"
CAPTURE_RECORD = "capture.json"
#: Pages whose browser capture is kept for the next items found on them (a listing holds several ads).
PAGE_CACHE_SIZE = 16


@dataclass(frozen=True)
class Outcome:
    status: str
    hit_ids: tuple[str, ...]
    package: str = ""
    note: str = ""


def package_key(item: AdItem) -> str:
    """One package per ad version: the same canonical URL and content give the same key."""
    return hashlib.sha1(f"{item.canonical_url}\x1f{item.content_hash}".encode()).hexdigest()[:20]


class EvidenceCollector:
    def __init__(self, config: EvidenceConfig, store: EvidenceStore, browser: SharedBrowser | None) -> None:
        self.config = config
        self.store = store
        self.browser = browser
        self._pages: OrderedDict[str, asyncio.Task[PageCapture]] = OrderedDict()

    def wanted(self, item: AdItem) -> bool:
        """Flagged, of a captured site, and not already packaged by an earlier crawl."""
        if not item.hits or not self.config.captures(item.site):
            return False
        return not self.store.captured(hit["hit_id"] for hit in item_hits(item))

    async def collect(self, item: AdItem) -> Outcome:
        started = datetime.now(UTC)
        hit_ids = tuple(hit["hit_id"] for hit in item_hits(item))
        raw, notes = self._raw(item)
        page_url = (raw.target_uri if raw else "") or item.fetch.get("final_url") or item.url
        page = await self._page(page_url) if self.browser is not None else None
        record = capture_record(item, raw, page, started, datetime.now(UTC))
        record["notes"] = notes + record["notes"]
        relative = f"{item.site}/{package_key(item)}.wacz"
        try:
            sha = await asyncio.to_thread(self._package, self.config.evidence_dir / relative, item, raw, page, record)
        except (OSError, EvidenceError) as exc:
            return self._record(Outcome("missing", hit_ids, note=f"证据未能保存 evidence not stored: {exc}"), "")
        status = "ok" if not record["notes"] else "partial"
        return self._record(Outcome(status, hit_ids, relative, "; ".join(record["notes"])), sha)

    def _raw(self, item: AdItem) -> tuple[RawRecord | None, list[str]]:
        if not item.raw_ref:
            return None, ["原始响应未归档 raw response not archived"]
        try:
            return read_raw_record(self.config.raw_dir, item.raw_ref), []
        except EvidenceError as exc:
            return None, [f"原始响应无法读取 raw response unreadable: {exc}"]

    async def _page(self, url: str) -> PageCapture:
        """The browser capture of ``url``, shared by every item found on that page while it is cached."""
        task = self._pages.get(url)
        if task is None:
            capture = capture_page(self.browser, url, self.config.page_timeout, self.config.screenshot)
            task = self._pages[url] = asyncio.ensure_future(capture)
            while len(self._pages) > PAGE_CACHE_SIZE:
                self._pages.popitem(last=False)
        return await asyncio.shield(task)

    def _package(
        self, target: Path, item: AdItem, raw: RawRecord | None, page: PageCapture | None, record: dict
    ) -> str:
        target.parent.mkdir(parents=True, exist_ok=True)
        extras = {CAPTURE_RECORD: json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8")}
        if page is not None and page.screenshot:
            extras[SCREENSHOT] = page.screenshot
        request_headers = item.fetch.get("request_headers", {})
        url = raw.target_uri if raw else record["crawler_fetch"]["final_url"]
        write = partial(
            write_evidence_warc, raw=raw, url=url, request_headers=request_headers, dom=page.dom if page else ""
        )
        return build_package(target, write, extras, url, raw.date if raw else item.fetched_at, item.title)

    def _record(self, outcome: Outcome, sha: str) -> Outcome:
        self.store.record(outcome.hit_ids, outcome.package, sha, outcome.status, outcome.note)
        return outcome

    def forget_pages(self) -> None:
        self._pages.clear()

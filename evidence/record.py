"""The capture record (提取记录): what was fetched, from where, how, when, with what, and what it broke."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from crawler.items import AdItem
from evidence.capture import PageCapture
from evidence.warc import RawRecord
from indexer.sqlite import hit_id

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
RECORD_FORMAT = "adwatch-capture-record/1"


def stamp(moment: datetime) -> dict[str, str]:
    """One instant in UTC and Beijing time (北京时间)."""
    return {
        "utc": moment.astimezone(UTC).isoformat(timespec="seconds"),
        "beijing": moment.astimezone(BEIJING).isoformat(timespec="seconds"),
    }


def software_versions() -> dict[str, str]:
    return {name: _version(name) for name in ("adwatch", "scrapy", "playwright", "warcio", "wacz")}


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return ""


def item_hits(item: AdItem) -> list[dict[str, Any]]:
    """The item's rule hits, each with the stable hit id the store gives it."""
    return [
        {"hit_id": hit_id(item.canonical_url, item.content_hash, hit["rule_id"], hit["start"]), **hit}
        for hit in item.hits
    ]


def capture_record(
    item: AdItem, raw: RawRecord | None, page: PageCapture | None, started: datetime, finished: datetime
) -> dict[str, Any]:
    """The JSON capture record of one flagged ad."""
    fetch = item.fetch or {}
    return {
        "format": RECORD_FORMAT,
        "ad": {
            "site": item.site,
            "url": item.url,
            "canonical_url": item.canonical_url,
            "title": item.title,
            "content_hash": item.content_hash,
            "document": item.document(),
        },
        "crawler_fetch": {
            "requested_url": fetch.get("requested_url", item.url),
            "final_url": fetch.get("final_url", raw.target_uri if raw else item.url),
            "redirect_chain": [*fetch.get("redirect_urls", []), fetch.get("final_url", item.url)],
            "server_ip": fetch.get("server_ip", ""),
            "http_status": raw.status if raw else item.http_status,
            "response_headers": raw.headers if raw else {},
            "tls": fetch.get("tls", {}),
            "user_agent": fetch.get("request_headers", {}).get("User-Agent", ""),
            "fetched_at": item.fetched_at,
            "raw_ref": item.raw_ref,
            "warc_record_id": raw.record_id if raw else "",
            "warc_payload_digest": raw.payload_digest if raw else "",
        },
        "browser_capture": page.describe() if page else None,
        "software": software_versions(),
        "capture_started": stamp(started),
        "capture_finished": stamp(finished),
        "hits": item_hits(item),
        "notes": list(page.notes) if page else [],
    }

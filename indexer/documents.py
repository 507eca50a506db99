"""Index documents built from checked items: one per ad (its latest version) and one per rule hit.

Ids are stable: an ad's id comes from its canonical URL, a hit's from the URL,
the content hash, the rule and the place (:func:`indexer.sqlite.hit_id`), so
writing the same content twice writes the same documents.  The Chinese text is
kept three times: raw (highlighting, evidence), cut by jieba into
space-separated words (ranking), and folded one character a token (``grams``:
what search terms match) — the last two for a plain whitespace analyzer.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from crawler.items import AdItem
from indexer.sqlite import hit_id
from indexer.tokenize import gram_string, token_string

#: Hit fields a reviewer sees; every backend returns hits with these keys.
HIT_FIELDS = (
    "hit_id", "ad_key", "canonical_url", "url", "site", "title", "seller", "content_hash", "rule_id", "law",
    "article", "article_key", "severity", "category", "matched", "start", "end", "explanation", "penalty",
    "risk", "fetched_at", "day", "raw_ref", "current", "review_status", "reviewer", "review_reason", "reviewed_at",
)
REVIEW_FIELDS = ("review_status", "reviewer", "review_reason", "reviewed_at")
CONTEXT_CHARS = 30
REPORT_TIMEZONE = ZoneInfo("Asia/Shanghai")


@lru_cache(maxsize=65536)
def ad_key(canonical_url: str) -> str:
    """Stable id of an ad: one per canonical URL."""
    return hashlib.sha1(canonical_url.encode("utf-8")).hexdigest()[:20]


def fetched_at(item: AdItem) -> str:
    """The item's fetch time; items without one count as fetched now."""
    return item.fetched_at or datetime.now(UTC).isoformat(timespec="seconds")


@lru_cache(maxsize=4096)
def report_day(timestamp: str) -> str:
    """The Beijing-time date of a fetch time: reviewers, 双十一 and the monthly sheet count days in Beijing.

    China keeps no daylight-saving time, so the SQLite store computes the same day with a fixed offset
    (:data:`indexer.sqlite.REPORT_DAY`).
    """
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return timestamp[:10]
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(REPORT_TIMEZONE).date().isoformat()


def month(timestamp: str) -> str:
    """``2026-11-11T…`` → ``2026.11``: the monthly hits index a version's hits go to."""
    return timestamp[:7].replace("-", ".")


@dataclass(frozen=True)
class ItemText:
    """An item's text, raw, cut and folded, computed once and shared by its ad and hit documents."""

    text: str
    text_tokens: str
    title_tokens: str
    grams: str

    @classmethod
    def of(cls, item: AdItem) -> ItemText:
        text = item.document()
        return cls(text, token_string(text), token_string(item.title), gram_string(text))


def hit_documents(item: AdItem, text: ItemText, when: str = "") -> list[dict[str, Any]]:
    """The crawl-side fields of each of the item's hits (review fields only where a hit carries them, as in a
    rebuild).  ``when`` is when this content was first fetched (default: the item's fetch time).

    The fields every hit of the item shares are built once: an ad has a handful of hits.
    """
    when = when or fetched_at(item)
    shared = {
        "ad_key": ad_key(item.canonical_url), "canonical_url": item.canonical_url, "url": item.url,
        "site": item.site, "title": item.title, "seller": item.seller, "content_hash": item.content_hash,
        "risk": item.risk, "fetched_at": when, "day": report_day(when), "raw_ref": item.raw_ref, "current": True,
        "text": text.text, "text_tokens": text.text_tokens, "title_tokens": text.title_tokens, "grams": text.grams,
    }
    return [_hit_document(item, hit, text.text, shared) for hit in item.hits]


def item_hit_id(item: AdItem, hit: dict[str, Any]) -> str:
    """A hit's id: the stored one when the hit was read back from the store (findings made after a crawl are keyed
    otherwise), else the one its URL, content, rule and offset give."""
    return str(hit.get("hit_id") or hit_id(item.canonical_url, item.content_hash, hit["rule_id"], int(hit["start"])))


def _hit_document(item: AdItem, hit: dict[str, Any], text: str, shared: dict[str, Any]) -> dict[str, Any]:
    start, end = int(hit["start"]), int(hit["end"])
    doc = {
        "hit_id": item_hit_id(item, hit), **shared,
        "rule_id": hit["rule_id"], "law": hit.get("law", ""), "article": hit.get("article", ""),
        "article_key": hit.get("article_key", ""), "severity": hit.get("severity", ""),
        "category": hit.get("category", ""), "matched": hit.get("matched", ""), "start": start, "end": end,
        "explanation": hit.get("explanation", ""), "penalty": hit.get("penalty", ""),
        "context": text[max(0, start - CONTEXT_CHARS):end + CONTEXT_CHARS],
    }
    doc.update({key: hit[key] for key in REVIEW_FIELDS if hit.get(key)})
    return doc


def new_review_fields() -> dict[str, Any]:
    """The review state of a hit nobody has looked at yet."""
    return {"review_status": "pending", "reviewer": None, "review_reason": None, "reviewed_at": None}


def ad_document(item: AdItem, text: ItemText, hit_ids: list[str], previous: dict[str, Any] | None,
                when: str = "") -> dict[str, Any]:
    """The ad's latest version, merged with what the index already holds (first seen, version history)."""
    when = when or fetched_at(item)
    versions = list((previous or {}).get("versions") or [])
    if item.content_hash not in {v["content_hash"] for v in versions}:
        versions.append({"content_hash": item.content_hash, "fetched_at": when})
    return {
        "ad_key": ad_key(item.canonical_url), "canonical_url": item.canonical_url, "url": item.url,
        "site": item.site, "title": item.title, "seller": item.seller, "prices": item.prices,
        "price_texts": item.price_texts, "category_hints": item.category_hints, "image_alts": item.image_alts,
        "categories": item.categories, "risk": item.risk, "content_hash": item.content_hash,
        "fetched_at": when, "first_seen": (previous or {}).get("first_seen") or when,
        "last_seen": max(when, (previous or {}).get("last_seen") or when), "http_status": item.http_status,
        "raw_ref": item.raw_ref, "versions": versions, "version_count": len(versions), "hit_ids": hit_ids,
        "hit_count": len(hit_ids), "articles": sorted({h.get("article_key", "") for h in item.hits} - {""}),
        "text": text.text, "text_tokens": text.text_tokens, "title_tokens": text.title_tokens, "grams": text.grams,
    }


def item_to_json(item: AdItem) -> dict[str, Any]:
    return asdict(item)


def item_from_json(data: dict[str, Any]) -> AdItem:
    return AdItem(**data)

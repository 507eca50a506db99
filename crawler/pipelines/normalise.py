"""Pipeline stage 1: tidy an item's text, parse its prices, fingerprint its content."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata

from scrapy import Spider
from scrapy.crawler import Crawler
from w3lib.html import remove_tags, replace_entities

from crawler.items import AdItem
from rules.normalize import replace_lone_surrogates

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_PRICE = re.compile(r"(?<![\d.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?")


def clean_text(text: str) -> str:
    """NFC, no control characters, runs of spaces folded; zero-width characters are kept for the rule engine.

    A lone surrogate (a JSON page can escape one) becomes U+FFFD: the item must still be
    hashed, stored and written as JSON, none of which can encode it.
    """
    text = _CONTROL.sub("", unicodedata.normalize("NFC", replace_lone_surrogates(text)))
    text = _SPACES.sub(" ", text)
    return _BLANK_LINES.sub("\n", text).strip()


def parse_prices(texts: list[str]) -> list[float]:
    """Every price in ``texts``, in order: '¥89.90' → 89.9, '1,299.00-1,599.00' → 1299.0, 1599.0."""
    prices: list[float] = []
    for text in texts:
        folded = unicodedata.normalize("NFKC", text)
        for whole, fraction in _PRICE.findall(folded):
            prices.append(float(whole.replace(",", "") + (fraction or "")))
    return prices


def content_hash(item: AdItem) -> str:
    """SHA-256 over what a reader sees of the ad: same content, same hash, whatever the URL or time."""
    content = [item.title, item.body, item.prices, item.seller, item.image_alts]
    return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode("utf-8")).hexdigest()


class NormalisePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NormalisePipeline:
        return cls(crawler)

    def process_item(self, item: AdItem, spider: Spider | None = None) -> AdItem:
        item.title = clean_text(item.title)
        item.body = clean_text(item.body)
        item.seller = clean_text(item.seller)
        # A review is selected as one element (date, rating and words in their own tags): keep its text.
        item.reviews = [r for r in (clean_text(replace_entities(remove_tags(r))) for r in item.reviews) if r]
        item.licence = clean_text(item.licence)
        item.footer = clean_text(item.footer)
        item.sales, item.review_count = clean_text(item.sales), clean_text(item.review_count)
        item.image_alts = [a for a in (clean_text(a) for a in item.image_alts) if a]
        item.category_hints = list(dict.fromkeys(h for h in (clean_text(h) for h in item.category_hints) if h))
        item.price_texts = [replace_lone_surrogates(text) for text in item.price_texts]
        item.prices = parse_prices(item.price_texts)
        item.content_hash = content_hash(item)
        self.stats.inc_value("adwatch/item/normalised")
        if item.encoding_doubt:
            self.stats.inc_value("adwatch/item/encoding_doubt")
        return item

"""The one item AdWatch crawls: an ad or a listing, as found on a page."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


def document_text(title: str, body: str, image_alts: Iterable[str]) -> str:
    """Title, body and image alt texts, one per line: the text rules check and hit offsets point into."""
    return "\n".join(part for part in (title, body, *image_alts) if part)


@dataclass
class AdItem:
    """An ad or listing.

    ``raw_ref`` points at the archived raw response (``<warc file>#<offset>``)
    so that evidence can later show exactly what the server sent; ``fetch``
    holds how it was fetched (redirect chain, server IP, TLS), for the capture record.
    ``content_hash`` is set by the normalise stage over the normalised content;
    the rule-check stage fills ``categories``, ``hits`` and ``risk``.
    """

    url: str
    site: str
    canonical_url: str = ""
    title: str = ""
    body: str = ""
    prices: list[float] = field(default_factory=list)
    price_texts: list[str] = field(default_factory=list)
    seller: str = ""
    category_hints: list[str] = field(default_factory=list)
    image_alts: list[str] = field(default_factory=list)
    fetched_at: str = ""
    http_status: int = 0
    content_hash: str = ""
    raw_ref: str = ""
    fetch: dict[str, Any] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)
    hits: list[dict[str, Any]] = field(default_factory=list)
    risk: float = 0.0
    # Set when a rendered page was captured before it finished loading (see crawler/render.py).
    render_notes: list[str] = field(default_factory=list)
    # Set when the page's text may not be what it means: decoded with replacement characters, or in a
    # guessed encoding against the declared one (see crawler/encoding.py); "" when the decoding is sure.
    encoding_doubt: str = ""
    # What the market checks read (crawler/pipelines/market_check.py): the item rule's kind of page
    # ("listing" or "shop"), the reviews shown with a listing (one a line: date, rating, words), a shop
    # page's licence information or link, and the page footer (where the ICP number stands).
    page: str = "listing"
    reviews: list[str] = field(default_factory=list)
    licence: str = ""
    footer: str = ""
    # A listing's sales and review counts as shown ("已售 1.2万+", "累计评价 34"), compared across crawls.
    sales: str = ""
    review_count: str = ""

    def document(self) -> str:
        """The text the rule engine checks: title, body and image alt texts, one per line."""
        return document_text(self.title, self.body, self.image_alts)

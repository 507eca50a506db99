"""The one storage interface every backend offers: SQLite (embedded), OpenSearch and Elasticsearch.

A backend indexes checked :class:`~crawler.items.AdItem` objects, answers a
reviewer's hit query (filters, Chinese full text, aggregations) and records
review decisions.  The conformance suite in ``tests/indexer`` runs the same
tests against each backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from crawler.items import AdItem

#: Review states a hit can be in; ``transferred``: confirmed and handed to the inspection corps.
REVIEW_STATUSES = ("pending", "confirmed", "dismissed", "transferred")

#: Aggregations a hit query can ask for: name → the hit field it counts.
AGGREGATIONS = {"article": "article_key", "site": "site", "severity": "severity", "rule": "rule_id",
                "category": "category", "status": "review_status", "day": "day", "seller": "seller"}

#: Keys of each ad an ad search returns (``highlight``: fragments marked as in :mod:`indexer.highlight`).
AD_FIELDS = ("ad_key", "canonical_url", "url", "site", "title", "seller", "risk", "fetched_at", "categories",
             "hit_count", "highlight")


@dataclass(frozen=True)
class HitQuery:
    """What a reviewer asks for: filters (each a set of allowed values), Chinese full text, aggregations.

    ``canonical_urls`` lists the hits of one ad (with ``current_only=False``, of all its versions too);
    ``sellers`` those of one seller or shop.
    """

    text: str = ""
    sites: tuple[str, ...] = ()
    articles: tuple[str, ...] = ()
    rule_ids: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    hit_ids: tuple[str, ...] = ()
    canonical_urls: tuple[str, ...] = ()
    sellers: tuple[str, ...] = ()
    day_from: str = ""
    day_to: str = ""
    current_only: bool = True
    aggregations: tuple[str, ...] = ()
    size: int = 20
    offset: int = 0

    def __post_init__(self) -> None:
        unknown = [name for name in self.aggregations if name not in AGGREGATIONS]
        if unknown:
            raise ValueError(f"unknown aggregation(s) {unknown}; known: {sorted(AGGREGATIONS)}")


#: How an ad search may be ordered: best match (then newest), newest first, riskiest first.
AD_SORTS = ("relevance", "time", "risk")


@dataclass(frozen=True)
class AdQuery:
    """A search over every crawled ad (its current version): text in the language of :mod:`indexer.query`,
    filters (each a set of allowed values; an ad passes when any value fits), a sort and a page.

    ``categories``: the ad's categories; ``articles``: an article key one of its hits cites; ``statuses``: the
    review state of one of its hits; ``day_from`` / ``day_to``: its fetch date in Beijing time (``YYYY-MM-DD``).
    """

    text: str = ""
    sites: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    articles: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    day_from: str = ""
    day_to: str = ""
    sort: str = "relevance"
    size: int = 20
    offset: int = 0

    def __post_init__(self) -> None:
        if self.sort not in AD_SORTS:
            raise ValueError(f"sort must be one of {AD_SORTS}, got {self.sort!r}")

    @property
    def filtered(self) -> bool:
        """Whether any filter is set."""
        return bool(self.sites or self.categories or self.articles or self.statuses or self.day_from
                    or self.day_to)


@dataclass
class HitResults:
    """One page of hits (riskiest first, then by id), the total, and each asked aggregation as value → count."""

    total: int
    hits: list[dict[str, Any]] = field(default_factory=list)
    aggregations: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        return [hit["hit_id"] for hit in self.hits]


@dataclass
class AdResults:
    """One page of ads (best match first) and the total; each ad has the keys in :data:`AD_FIELDS`."""

    total: int
    ads: list[dict[str, Any]] = field(default_factory=list)


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Review:
    """A reviewer's decision on one hit."""

    status: str
    reviewer: str
    reason: str = ""
    reviewed_at: str = field(default_factory=_utc_now)

    def __post_init__(self) -> None:
        if self.status not in REVIEW_STATUSES:
            raise ValueError(f"review status must be one of {REVIEW_STATUSES}, got {self.status!r}")


@dataclass
class IndexResult:
    """What one write did: documents written, items left for later (engine down), documents rejected."""

    written: int = 0
    deferred: list[AdItem] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)

    def merge(self, other: IndexResult) -> IndexResult:
        self.written += other.written
        self.deferred.extend(other.deferred)
        self.rejected.extend(other.rejected)
        return self


@dataclass(frozen=True)
class Rejection:
    """A document the engine refused, with its reason; ``action`` is the bulk action and source to retry it."""

    doc_id: str
    index: str
    reason: str
    action: tuple[dict[str, Any], dict[str, Any]]


@runtime_checkable
class AdIndex(Protocol):
    """The storage interface: one per backend (see :func:`indexer.backends.open_index`)."""

    name: str

    def init(self) -> None:
        """Create whatever the backend needs (tables, index templates, indices, aliases); idempotent."""

    def index_items(self, items: Sequence[AdItem]) -> IndexResult:
        """Index checked items idempotently: the same URL and content give the same documents."""

    def search_hits(self, query: HitQuery) -> HitResults:
        """Hits matching ``query``, riskiest first, with the asked aggregations.

        ``query.text`` is in the language of :mod:`indexer.query`; with it, each hit also has
        ``highlight``: fragments of its text, the query's terms marked.
        """

    def search_ads(self, query: AdQuery) -> AdResults:
        """Search over every crawled ad (its current version, flagged or not), in ``query.sort`` order.

        Same query language as hit search (:mod:`indexer.query`); a query with neither text nor a filter
        finds nothing.  Each ad's ``highlight`` marks the terms it holds.
        """

    def get_hit(self, hit_id: str) -> dict[str, Any] | None:
        """One hit by its stable id, with its review state, or ``None``."""

    def set_review(self, hit_id: str, review: Review) -> bool:
        """Record a review decision; ``False`` if there is no such hit."""

    def counts(self) -> dict[str, int]:
        """How many ads and hits the backend holds."""

    def refresh(self) -> None:
        """Make every write so far visible to search (a no-op where writes are visible at once)."""

    def close(self) -> None:
        """Release connections."""

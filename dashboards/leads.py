"""The ad (线索) as the unit of review: the hits of one ad gathered under it, and one rule on one version as one hit.

The store and the search engines keep a row per rule match, with an id made of
the URL, the content, the rule and the place (:func:`indexer.sqlite.hit_id`):
ids that decisions already point at.  The console does not change them; it
reads the rows of one rule on one version of an ad (its title and its body, or
two places in the body) as one hit with several spans, named by its first row's
id, and the hits of one ad as one lead.  A reviewer decides the lead, and may
override a single hit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from indexer.backend import AdIndex, HitQuery
from rules.market_findings import is_finding

#: Rows asked of the backend at a time, and at most (a search engine's default result window).
FETCH_PAGE = 1000
FETCH_LIMIT = 10_000
SEVERITY_ORDER = {"high": 3, "medium": 2, "low": 1}
#: Which status a hit of several rows shows when an older console decided its rows apart: the most decided.
_STATUS_WEIGHT = {"transferred": 3, "confirmed": 2, "dismissed": 1, "pending": 0}


def fetch_hits(backend: AdIndex, query: HitQuery) -> list[dict[str, Any]]:
    """Every hit of ``query`` (up to :data:`FETCH_LIMIT`), riskiest first, read a page at a time."""
    hits: list[dict[str, Any]] = []
    while len(hits) < FETCH_LIMIT:
        size = min(FETCH_PAGE, FETCH_LIMIT - len(hits))
        page = backend.search_hits(replace(query, size=size, offset=len(hits), aggregations=())).hits
        hits += page
        if len(page) < size:
            break
    return hits


@dataclass
class Hit:
    """One rule on one version of an ad: every place it matched, reviewed as one."""

    rows: list[dict[str, Any]]

    @property
    def first(self) -> dict[str, Any]:
        return self.rows[0]

    @property
    def hit_id(self) -> str:
        return self.first["hit_id"]

    @property
    def hit_ids(self) -> list[str]:
        return [row["hit_id"] for row in self.rows]

    @property
    def spans(self) -> list[tuple[int, int]]:
        return [(row["start"], row["end"]) for row in self.rows]

    @property
    def matched(self) -> list[str]:
        return list(dict.fromkeys(row["matched"] for row in self.rows if row["matched"]))

    @property
    def decided(self) -> dict[str, Any]:
        """The row whose review state the hit shows."""
        return max(self.rows, key=lambda row: _STATUS_WEIGHT.get(row["review_status"], 0))

    @property
    def review_status(self) -> str:
        return self.decided["review_status"]

    def __getattr__(self, name: str) -> Any:
        """The fields every row of the hit shares (rule, law, article, severity, explanation …)."""
        if name.startswith("_") or name == "rows" or name not in self.first:
            raise AttributeError(name)
        return self.first[name]


def lead_status(statuses: Iterable[str]) -> str:
    """A lead is 待审核 while any hit is, else 已移送 / 已确认 if any hit is, else 已排除."""
    present = set(statuses)
    for status in ("pending", "transferred", "confirmed"):
        if status in present:
            return status
    return "dismissed"


@dataclass
class Lead:
    """One ad (one version of it) with its hits: the row of the queue and the subject of a decision."""

    hits: list[Hit]
    highlight: list[str] = field(default_factory=list)

    @property
    def first(self) -> dict[str, Any]:
        return self.hits[0].first

    @property
    def hit_id(self) -> str:
        """The lead's address (``/hits/<id>``): its first hit's id."""
        return self.hits[0].hit_id

    @property
    def hit_ids(self) -> list[str]:
        return [hit_id for hit in self.hits for hit_id in hit.hit_ids]

    @property
    def advertiser(self) -> str:
        """The advertiser (主体): the shop, hospital or company the page names as seller."""
        return self.first.get("seller") or ""

    @property
    def status(self) -> str:
        return lead_status(hit.review_status for hit in self.hits)

    @property
    def is_ad(self) -> bool:
        """Whether an ad rule flags it (a 违法广告), not only findings beyond ads (侵权假冒, 刷单炒信 …)."""
        return any(not is_finding(hit.rule_id) for hit in self.hits)

    @property
    def severity(self) -> str:
        return max((hit.severity for hit in self.hits), key=lambda s: SEVERITY_ORDER.get(s, 0))

    @property
    def articles(self) -> list[str]:
        return list(dict.fromkeys(hit.article_key or hit.article for hit in self.hits))

    @property
    def categories(self) -> list[str]:
        return list(dict.fromkeys(hit.category for hit in self.hits if hit.category))

    @property
    def matched(self) -> list[str]:
        return list(dict.fromkeys(word for hit in self.hits for word in hit.matched))

    def __getattr__(self, name: str) -> Any:
        """The fields every hit of the ad shares (title, site, url, risk, fetched_at, ad_key …)."""
        if name.startswith("_") or name == "hits" or name not in self.first:
            raise AttributeError(name)
        return self.first[name]


def group_hits(rows: Iterable[dict[str, Any]]) -> list[Lead]:
    """Rows of hits as leads (one per ad and version), riskiest first; each lead's hits in text order."""
    by_rule: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in rows:
        by_rule.setdefault((row["ad_key"], row["content_hash"], row["rule_id"]), []).append(row)
    by_ad: dict[tuple[str, str], list[Hit]] = {}
    for (ad, content, _), members in by_rule.items():
        members.sort(key=lambda row: (row["start"], row["hit_id"]))
        by_ad.setdefault((ad, content), []).append(Hit(members))
    leads = [Lead(sorted(hits, key=lambda hit: (hit.first["start"], hit.hit_id))) for hits in by_ad.values()]
    return sorted(leads, key=lambda lead: (-(lead.risk or 0), lead.ad_key, lead.content_hash))


def latest_versions(leads: list[Lead]) -> list[Lead]:
    """Of the leads of one ad (its versions), the one fetched last."""
    latest: dict[str, Lead] = {}
    for lead in leads:
        if lead.ad_key not in latest or lead.fetched_at > latest[lead.ad_key].fetched_at:
            latest[lead.ad_key] = lead
    return [lead for lead in leads if latest[lead.ad_key] is lead]


def hits_of_ads(backend: AdIndex, canonical_urls: Iterable[str], current_only: bool = True,
                chunk: int = 200) -> list[dict[str, Any]]:
    """Every hit of the ads named, a chunk of URLs at a time."""
    urls = list(dict.fromkeys(canonical_urls))
    rows: list[dict[str, Any]] = []
    for start in range(0, len(urls), chunk):
        rows += fetch_hits(backend, HitQuery(canonical_urls=tuple(urls[start:start + chunk]),
                                             current_only=current_only))
    return rows

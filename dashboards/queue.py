"""The queue's filters: read from the query string, turned into one backend query (shared by the page and CSV),
and the queue itself: one row per flagged ad (:mod:`dashboards.leads`), its status the status of its hits."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from urllib.parse import urlencode

from dashboards.leads import FETCH_LIMIT, Lead, fetch_hits, group_hits, hits_of_ads
from dashboards.services import Services
from indexer.backend import REVIEW_STATUSES, HitQuery, HitResults

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FILTER_FIELDS = ("q", "category", "article", "site", "district", "severity", "status", "assignee", "day_from",
                 "day_to", "advertiser")
#: Fields that narrow the hits looked at (the status is a lead's, decided over all its hits).
_NARROWING = tuple(name for name in FILTER_FIELDS if name != "status")


def page_number(params: Mapping[str, str]) -> int:
    """The ``page`` parameter, 1–10 000 (anything else is page 1)."""
    try:
        return max(1, min(int(params.get("page", 1)), 10_000))
    except ValueError:
        return 1


@dataclass(frozen=True)
class QueueFilter:
    """What a reviewer filters the queue by; every field is optional (empty = any)."""

    q: str = ""
    category: str = ""
    article: str = ""
    site: str = ""
    district: str = ""
    severity: str = ""
    status: str = "pending"
    assignee: str = ""
    day_from: str = ""
    day_to: str = ""
    advertiser: str = ""
    page: int = 1

    @classmethod
    def from_params(cls, params: dict[str, str]) -> QueueFilter:
        values = {name: str(params.get(name, "")).strip()[:200] for name in FILTER_FIELDS}
        if "status" not in params:
            values["status"] = "pending"
        if values["status"] not in (*REVIEW_STATUSES, ""):
            values["status"] = ""
        for day in ("day_from", "day_to"):
            if not _DAY.match(values[day]):
                values[day] = ""
        return cls(**values, page=page_number(params))

    def query_string(self, **changes: object) -> str:
        """This filter (with ``changes``) as a query string, for links and paging."""
        values = asdict(replace(self, **changes))  # type: ignore[arg-type]
        return urlencode({key: value for key, value in values.items() if value not in ("", 1) or key == "status"})


def hit_query(services: Services, filters: QueueFilter, username: str, size: int,
              offset: int | None = None) -> HitQuery | None:
    """The backend query behind the queue; ``None`` when the filter can match nothing (e.g. nobody assigned)."""
    sites: tuple[str, ...] = (filters.site,) if filters.site else ()
    if filters.district:
        in_district = services.sites.in_district(filters.district)
        sites = tuple(s for s in sites if s in in_district) if sites else in_district
        if not sites:
            return None
    hit_ids: tuple[str, ...] = ()
    if filters.assignee:
        assignee = username if filters.assignee == "me" else filters.assignee
        hit_ids = tuple(services.workflow.assigned_ids(assignee))
        if not hit_ids:
            return None
    return HitQuery(
        text=filters.q, sites=sites, categories=(filters.category,) if filters.category else (),
        articles=(filters.article,) if filters.article else (),
        severities=(filters.severity,) if filters.severity else (),
        statuses=(filters.status,) if filters.status else (), hit_ids=hit_ids,
        sellers=(filters.advertiser,) if filters.advertiser else (),
        day_from=filters.day_from, day_to=filters.day_to, size=size,
        offset=(filters.page - 1) * size if offset is None else offset)


def search_queue(services: Services, filters: QueueFilter, username: str, size: int) -> HitResults:
    query = hit_query(services, filters, username, size)
    return services.backend.search_hits(query) if query else HitResults(total=0)


@dataclass
class LeadResults:
    """One page of leads, riskiest first, with how many leads and hits the filter holds."""

    total: int
    leads: list[Lead] = field(default_factory=list)
    hits: int = 0
    #: The filter matched more places than are read at once (:data:`FETCH_LIMIT`): some ads are not shown.
    truncated: bool = False


def filtered_leads(services: Services, filters: QueueFilter, username: str) -> list[Lead]:
    """Every lead of the filter: ads with a current hit that fits it, whole (all their current hits), in the
    status asked for (of the first :data:`FETCH_LIMIT` places that fit)."""
    return _leads(services, filters, username)[0]


def _leads(services: Services, filters: QueueFilter, username: str) -> tuple[list[Lead], bool]:
    query = hit_query(services, replace(filters, status=""), username, size=0)
    if query is None:
        return [], False
    rows = fetch_hits(services.backend, query)
    truncated = len(rows) >= FETCH_LIMIT
    highlights = {row["ad_key"]: row["highlight"] for row in rows if row.get("highlight")}
    if any(getattr(filters, name) for name in _NARROWING):
        rows = hits_of_ads(services.backend, (row["canonical_url"] for row in rows))
    leads = group_hits(rows)
    for lead in leads:
        lead.highlight = highlights.get(lead.ad_key, [])
    return [lead for lead in leads if not filters.status or lead.status == filters.status], truncated


def search_leads(services: Services, filters: QueueFilter, username: str, size: int) -> LeadResults:
    """The queue's page: a row per ad."""
    leads, truncated = _leads(services, filters, username)
    start = (filters.page - 1) * size
    return LeadResults(len(leads), leads[start:start + size], sum(len(lead.hits) for lead in leads), truncated)

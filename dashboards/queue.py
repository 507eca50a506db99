"""The queue's filters: read from the query string, turned into one backend query (shared by the page and CSV)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from urllib.parse import urlencode

from dashboards.services import Services
from indexer.backend import REVIEW_STATUSES, HitQuery, HitResults

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FILTER_FIELDS = ("q", "category", "article", "site", "district", "severity", "status", "assignee", "day_from",
                 "day_to")


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
        day_from=filters.day_from, day_to=filters.day_to, size=size,
        offset=(filters.page - 1) * size if offset is None else offset)


def search_queue(services: Services, filters: QueueFilter, username: str, size: int) -> HitResults:
    query = hit_query(services, filters, username, size)
    return services.backend.search_hits(query) if query else HitResults(total=0)

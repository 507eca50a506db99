"""Figures for the statistics page and the monthly sheet, from the backend's aggregations and the crawl record.

Hits count on the day they were found (fetch day in Beijing time, like crawl
runs and approvals), whether or not their ad has changed since: a hit found
is a hit found.  ``confirmed`` counts hits
confirmed or transferred (a transfer is a confirmed hit handed on);
``transferred`` counts those handed to the inspection corps.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date

from dashboards.catalog import CATEGORY_NAMES
from dashboards.decisions import Case
from dashboards.services import Services
from dashboards.web import beijing_time
from indexer.backend import REVIEW_STATUSES, HitQuery
from indexer.sqlite import REPORT_DAY

COLUMNS = ("hits", "confirmed", "transferred", "dismissed", "pending")
COLUMN_LABELS = {"hits": "发现线索（条）", "confirmed": "确认违法（条）", "transferred": "其中移送稽查（条）",
                 "dismissed": "排除（条）", "pending": "待审核（条）"}


def month_bounds(month: str) -> tuple[str, str]:
    """``2026-11`` → (``2026-11-01``, ``2026-11-30``); ValueError if it is not a month."""
    year, number = (int(part) for part in month.split("-"))
    last = calendar.monthrange(year, number)[1]
    return date(year, number, 1).isoformat(), date(year, number, last).isoformat()


def _row() -> dict[str, int]:
    return dict.fromkeys(COLUMNS, 0)


def _add(row: dict[str, int], status: str, count: int) -> None:
    row["hits"] += count
    if status in ("confirmed", "transferred"):
        row["confirmed"] += count
    if status in ("transferred", "dismissed", "pending"):
        row[status] += count


@dataclass
class MonthlyFigures:
    """The monthly 专项行动情况统计表, as numbers."""

    month: str
    day_from: str
    day_to: str
    sites: int = 0
    pages: int = 0
    ads: int = 0
    cases: int = 0
    transfers: list[Case] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=_row)
    by_focus: dict[str, dict[str, int]] = field(default_factory=dict)
    by_category: dict[str, dict[str, int]] = field(default_factory=dict)


def monthly_figures(services: Services, month: str) -> MonthlyFigures:
    day_from, day_to = month_bounds(month)
    figures = MonthlyFigures(month, day_from, day_to)
    figures.by_focus = {area.name: _row() for area in services.catalog.focus_areas}
    figures.by_category = {label: _row() for label in CATEGORY_NAMES.values()}
    for status in REVIEW_STATUSES:
        result = services.backend.search_hits(HitQuery(
            statuses=(status,), day_from=day_from, day_to=day_to, current_only=False,
            aggregations=("article", "category"), size=0))
        _add(figures.totals, status, result.total)
        for article, count in result.aggregations.get("article", {}).items():
            _add(figures.by_focus[services.catalog.focus_area(article)], status, count)
        for category, count in result.aggregations.get("category", {}).items():
            label = CATEGORY_NAMES.get(category, category or "未分类")
            _add(figures.by_category.setdefault(label, _row()), status, count)
    crawl = services.store.conn.execute(
        f"""SELECT count(DISTINCT site), coalesce(sum(pages), 0) FROM crawl_runs
           WHERE {REPORT_DAY.format("started_at")} BETWEEN ? AND ?""", (day_from, day_to)).fetchone()
    figures.sites, figures.pages = crawl[0], crawl[1]
    figures.ads = services.store.conn.execute(
        f"SELECT count(*) FROM ads WHERE {REPORT_DAY.format('last_seen')} >= ? "
        f"AND {REPORT_DAY.format('first_seen')} <= ?",
        (day_from, day_to)).fetchone()[0]
    figures.transfers = [case for case in services.workflow.cases(("approved",))
                         if beijing_time(case.approved_at)[:7] == month]
    figures.cases = len(figures.transfers)
    return figures


def chart_data(services: Services, day_from: str = "", day_to: str = "") -> dict[str, object]:
    """Series for the statistics page: hits by category, article, site and day; confirmation rate per rule."""
    base = {"day_from": day_from, "day_to": day_to, "current_only": False, "size": 0}
    overall = services.backend.search_hits(HitQuery(**base, aggregations=("category", "article", "site", "day")))
    decided = {status: services.backend.search_hits(HitQuery(**base, statuses=(status,), aggregations=("rule",)))
               for status in ("confirmed", "transferred", "dismissed")}
    rules: dict[str, dict[str, int]] = {}
    for status, result in decided.items():
        for rule, count in result.aggregations.get("rule", {}).items():
            entry = rules.setdefault(rule, {"confirmed": 0, "dismissed": 0})
            entry["dismissed" if status == "dismissed" else "confirmed"] += count
    rates = sorted(({"rule_id": rule, **c, "rate": c["confirmed"] / (c["confirmed"] + c["dismissed"])}
                    for rule, c in rules.items()), key=lambda r: (-r["confirmed"] - r["dismissed"], r["rule_id"]))
    aggs = overall.aggregations
    return {
        "total": overall.total,
        "category": sorted(((CATEGORY_NAMES.get(k, k), v) for k, v in aggs.get("category", {}).items()),
                           key=lambda kv: -kv[1]),
        "article": sorted(aggs.get("article", {}).items(), key=lambda kv: -kv[1]),
        "site": sorted(((services.sites.titles.get(k, k), v) for k, v in aggs.get("site", {}).items()),
                       key=lambda kv: -kv[1]),
        "day": sorted(aggs.get("day", {}).items()),
        "rules": rates,
    }

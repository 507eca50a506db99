"""Figures for the statistics page and the monthly sheet: ads (违法广告条数), advertisers and sites, with the
hits by article beside them.

An ad counts on the day it was found (fetch day in Beijing time, like crawl
runs and approvals): of the versions of an ad found in the period, the last
one counts, with its hits (one rule on a version is one hit however many places
it matched) and its status (:func:`dashboards.leads.lead_status`).
``confirmed`` counts ads confirmed or transferred (a transfer is a confirmed ad
handed on); ``transferred`` those handed to the inspection corps.  违法广告条数 counts the ads an ad rule
flags; a listing with findings beyond ads alone (侵权假冒, 刷单炒信 …, #20) is another lead, counted apart
and in the tables.  An ad whose
hits fall under several focus areas, categories or articles counts in each;
the 合计 row counts it once.
"""

from __future__ import annotations

import calendar
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from dashboards.cases import Case
from dashboards.catalog import CATEGORY_NAMES
from dashboards.leads import Lead, fetch_hits, group_hits, latest_versions
from dashboards.services import Services
from dashboards.web import beijing_time
from indexer.backend import HitQuery
from indexer.sqlite import REPORT_DAY

COLUMNS = ("ads", "confirmed", "transferred", "dismissed", "pending", "hits")
COLUMN_LABELS = {"ads": "违法广告（条）", "confirmed": "确认违法（条）", "transferred": "其中移送稽查（条）",
                 "dismissed": "排除（条）", "pending": "待审核（条）", "hits": "命中（项）"}


def month_bounds(month: str) -> tuple[str, str]:
    """``2026-11`` → (``2026-11-01``, ``2026-11-30``); ValueError if it is not a month."""
    year, number = (int(part) for part in month.split("-"))
    last = calendar.monthrange(year, number)[1]
    return date(year, number, 1).isoformat(), date(year, number, last).isoformat()


def _row() -> dict[str, int]:
    return dict.fromkeys(COLUMNS, 0)


def _add(row: dict[str, int], lead: Lead, hits: int) -> None:
    """Count ``lead`` (with ``hits`` of its hits) in ``row``."""
    row["ads"] += 1
    row["hits"] += hits
    if lead.status in ("confirmed", "transferred"):
        row["confirmed"] += 1
    if lead.status in ("transferred", "dismissed", "pending"):
        row[lead.status] += 1


def _tally(leads: list[Lead], key: Any, names: dict[str, dict[str, int]]) -> None:
    """Each lead in the row of every name ``key(hit)`` gives its hits, with the hits of that name."""
    for lead in leads:
        for name, hits in Counter(key(hit) for hit in lead.hits).items():
            _add(names.setdefault(name, _row()), lead, hits)


def found_leads(services: Services, day_from: str = "", day_to: str = "") -> list[Lead]:
    """The ads found in the period (their last version found in it), riskiest first."""
    rows = fetch_hits(services.backend, HitQuery(day_from=day_from, day_to=day_to, current_only=False))
    return latest_versions(group_hits(rows))


def advertiser_count(leads: list[Lead]) -> int:
    """Advertisers (主体) the ads name; an ad that names none counts as its site's own."""
    return len({(lead.site, lead.advertiser) for lead in leads})


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
    flagged_ads: int = 0
    other_leads: int = 0
    flagged_sites: int = 0
    advertisers: int = 0
    transfers: list[Case] = field(default_factory=list)
    #: 处置情况 recorded in the month: label → (how many, the amount in 元 where one is recorded).
    dispositions: dict[str, tuple[int, float | None]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=_row)
    by_focus: dict[str, dict[str, int]] = field(default_factory=dict)
    by_category: dict[str, dict[str, int]] = field(default_factory=dict)
    by_article: dict[str, dict[str, int]] = field(default_factory=dict)


def monthly_figures(services: Services, month: str) -> MonthlyFigures:
    day_from, day_to = month_bounds(month)
    figures = MonthlyFigures(month, day_from, day_to)
    leads = found_leads(services, day_from, day_to)
    for lead in leads:
        _add(figures.totals, lead, len(lead.hits))
    figures.flagged_ads = sum(lead.is_ad for lead in leads)
    figures.other_leads = len(leads) - figures.flagged_ads
    figures.flagged_sites = len({lead.site for lead in leads})
    figures.advertisers = advertiser_count(leads)
    figures.by_focus = {area.name: _row() for area in services.catalog.focus_areas}
    _tally(leads, lambda hit: services.catalog.focus_area(hit.article_key), figures.by_focus)
    figures.by_category = {label: _row() for label in CATEGORY_NAMES.values()}
    _tally(leads, lambda hit: CATEGORY_NAMES.get(hit.category, hit.category or "未分类"), figures.by_category)
    _tally(leads, lambda hit: hit.article_key or hit.article, figures.by_article)
    figures.by_article = dict(sorted(figures.by_article.items(), key=lambda kv: (-kv[1]["hits"], kv[0])))
    crawl = services.store.conn.execute(
        f"""SELECT count(DISTINCT site), coalesce(sum(pages), 0) FROM crawl_runs
           WHERE {REPORT_DAY.format("started_at")} BETWEEN ? AND ?""", (day_from, day_to)).fetchone()
    figures.sites, figures.pages = crawl[0], crawl[1]
    figures.ads = services.store.conn.execute(
        f"SELECT count(*) FROM ads WHERE {REPORT_DAY.format('last_seen')} >= ? "
        f"AND {REPORT_DAY.format('first_seen')} <= ?",
        (day_from, day_to)).fetchone()[0]
    figures.dispositions = month_dispositions(services, day_from, day_to)
    figures.transfers = [case for case in services.workflow.cases(("approved", "closed"))
                         if beijing_time(case.approved_at)[:7] == month]
    figures.cases = len(figures.transfers)
    return figures


def month_dispositions(services: Services, day_from: str, day_to: str) -> dict[str, tuple[int, float | None]]:
    """Each kind of 处置 recorded in the period (Beijing days), in the catalog's order: how many, and for the
    penalty kind the amount in 元 (None for the others)."""
    rows = services.db.conn.execute(
        f"""SELECT kind, count(*), sum(amount) FROM case_dispositions
            WHERE {REPORT_DAY.format("at")} BETWEEN ? AND ? GROUP BY kind""", (day_from, day_to)).fetchall()
    found = {row[0]: (row[1], row[2] or 0.0) for row in rows}
    penalty = services.catalog.penalty_disposition
    return {label: (found.get(code, (0, 0.0))[0], found.get(code, (0, 0.0))[1] if code == penalty else None)
            for code, label in services.catalog.dispositions.items()}


def _pairs(counts: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def chart_data(services: Services, day_from: str = "", day_to: str = "") -> dict[str, object]:
    """Series for the statistics page: ads by category, article, site and day, with hits by article beside
    them; the advertisers and sites involved; confirmation rate per rule (hits decided)."""
    leads = found_leads(services, day_from, day_to)
    rules: dict[str, dict[str, Any]] = {}
    for hit in (hit for lead in leads for hit in lead.hits if hit.review_status != "pending"):
        entry = rules.setdefault(hit.rule_id, {"rule_id": hit.rule_id, "explanation": hit.explanation,
                                               "confirmed": 0, "dismissed": 0})
        entry["dismissed" if hit.review_status == "dismissed" else "confirmed"] += 1
    rates = sorted(({**c, "rate": c["confirmed"] / (c["confirmed"] + c["dismissed"])} for c in rules.values()),
                   key=lambda r: (-r["confirmed"] - r["dismissed"], r["rule_id"]))
    article_hits = Counter(hit.article_key or hit.article for lead in leads for hit in lead.hits)
    return {
        "total": len(leads),
        "ads": sum(lead.is_ad for lead in leads),
        "hits": sum(article_hits.values()),
        "advertisers": advertiser_count(leads),
        "sites": len({lead.site for lead in leads}),
        "category": _pairs(Counter(CATEGORY_NAMES.get(c, c) for lead in leads for c in lead.categories)),
        "article": _pairs(Counter(article for lead in leads for article in set(lead.articles))),
        "article_hits": dict(article_hits),
        "site": _pairs(Counter(services.sites.titles.get(lead.site, lead.site) for lead in leads)),
        "day": sorted(Counter(lead.day for lead in leads).items()),
        "rules": rates,
    }

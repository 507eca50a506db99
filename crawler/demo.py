"""The demo job: start the sandbox web, crawl all its sites, check, store, and score against ground truth."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.run import SiteResult
from crawler.urls import canonical_url
from indexer.sqlite import SqliteStore
from rules.evaluate import Counts
from sandbox.manifest import ARTICLE_KEYS, GroundTruth


@dataclass
class DemoSummary:
    pages: int
    ads: int
    sites: list[str]
    hits: int
    hits_by_article: dict[str, int]
    hits_by_category: dict[str, int]
    flagged_ads: int
    precision: float
    recall: float
    article_precision: float
    article_recall: float
    ground_truth_ads: int
    missing_ads: list[str]
    errors: int
    per_site: dict[str, dict[str, int]] = field(default_factory=dict)
    db_path: str = ""
    raw_dir: str = ""

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def summarise(
    store: SqliteStore,
    results: list[SiteResult],
    manifest: list[GroundTruth],
    base_urls: dict[str, str],
    strip_params: dict[str, list[str]],
) -> DemoSummary:
    """Figures of the crawl, and precision/recall of the stored hits against the sandbox's ground truth."""
    sites = [r.site for r in results]
    ads = {row["canonical_url"]: row for row in store.current_ads(sites)}
    hits = store.current_hits(sites)
    articles_by_ad: dict[str, set[str]] = {}
    for hit in hits:
        articles_by_ad.setdefault(hit["canonical_url"], set()).add(hit["article_key"])

    ads_scored, articles_scored, missing = Counts(), Counts(), []
    for truth in manifest:
        if truth.site not in sites:
            continue
        url = canonical_url(base_urls[truth.site].rstrip("/") + truth.path, strip_params.get(truth.site, ()))
        if url not in ads:
            missing.append(url)
        predicted = articles_by_ad.get(url, set())
        expected = frozenset(truth.violations)
        ads_scored.add(expected, frozenset(predicted))
        # The sandbox labels the articles of 《广告法》 and 《食品安全法》 only; the engine also cites the
        # implementing rules (医疗广告管理办法, 广告审查暂行办法) beside them, which the labels say nothing about.
        articles_scored.add(expected, frozenset(predicted & set(ARTICLE_KEYS)))

    ad_metrics, article_metrics = ads_scored.metrics(), articles_scored.metrics()
    per_site = {
        r.site: {
            "pages": r.pages,
            "items": r.items,
            "errors": r.errors,
            "ads": sum(1 for a in ads.values() if a["site"] == r.site),
        }
        for r in results
    }
    return DemoSummary(
        pages=sum(r.pages for r in results),
        ads=len(ads),
        sites=sites,
        hits=len(hits),
        hits_by_article=dict(Counter(h["article_key"] for h in hits).most_common()),
        hits_by_category=dict(Counter(h["category"] or "general" for h in hits).most_common()),
        flagged_ads=len(articles_by_ad),
        precision=ad_metrics["precision"],
        recall=ad_metrics["recall"],
        article_precision=article_metrics["article_precision"],
        article_recall=article_metrics["article_recall"],
        ground_truth_ads=sum(1 for t in manifest if t.site in sites),
        missing_ads=missing,
        errors=sum(r.errors for r in results),
        per_site=per_site,
        db_path=str(Path(store.path).resolve()),
    )

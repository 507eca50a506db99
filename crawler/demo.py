"""The demo job: start the sandbox web, crawl all its sites, check, store, and score against ground truth."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.run import SiteResult
from crawler.urls import canonical_url
from indexer.sqlite import SqliteStore
from sandbox.manifest import ARTICLE_KEYS, GroundTruth


@dataclass
class Score:
    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0

    def add(self, predicted: bool, actual: bool) -> None:
        self.true_positive += predicted and actual
        self.false_positive += predicted and not actual
        self.false_negative += actual and not predicted

    @property
    def precision(self) -> float:
        flagged = self.true_positive + self.false_positive
        return round(self.true_positive / flagged, 4) if flagged else 1.0

    @property
    def recall(self) -> float:
        violating = self.true_positive + self.false_negative
        return round(self.true_positive / violating, 4) if violating else 1.0


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

    ad_score, article_score, missing = Score(), Score(), []
    for truth in manifest:
        if truth.site not in sites:
            continue
        url = canonical_url(base_urls[truth.site].rstrip("/") + truth.path, strip_params.get(truth.site, ()))
        if url not in ads:
            missing.append(url)
        predicted = articles_by_ad.get(url, set())
        ad_score.add(bool(predicted), not truth.compliant)
        # The sandbox labels the articles of 《广告法》 and 《食品安全法》 only; the engine also cites the
        # implementing rules (医疗广告管理办法, 广告审查暂行办法) beside them, which the labels say nothing about.
        for article in (predicted & set(ARTICLE_KEYS)) | set(truth.violations):
            article_score.add(article in predicted, article in truth.violations)

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
        precision=ad_score.precision,
        recall=ad_score.recall,
        article_precision=article_score.precision,
        article_recall=article_score.recall,
        ground_truth_ads=sum(1 for t in manifest if t.site in sites),
        missing_ads=missing,
        errors=sum(r.errors for r in results),
        per_site=per_site,
        db_path=str(Path(store.path).resolve()),
    )

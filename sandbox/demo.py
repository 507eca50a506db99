"""The demo job's scoring: a crawl of the sandbox web against its ground truth (the sandbox sits beside the product)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.run import SiteResult
from crawler.urls import canonical_url
from indexer.sqlite import SqliteStore
from rules.evaluate import Counts
from rules.market_findings import is_finding
from sandbox.manifest import ARTICLE_KEYS, FINDING_KINDS, FINDINGS, GroundTruth


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
    # Findings beyond ads, per kind (rule id): {"expected", "found", "precision", "recall"} over every page.
    findings: dict[str, dict[str, float | int]] = field(default_factory=dict)
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
    findings_by_ad: dict[str, set[str]] = {}
    for hit in hits:
        if is_finding(hit["rule_id"]):
            findings_by_ad.setdefault(hit["canonical_url"], set()).add(hit["rule_id"])
        else:
            articles_by_ad.setdefault(hit["canonical_url"], set()).add(hit["article_key"])
    expected_findings: dict[str, frozenset[str]] = {}

    ads_scored, articles_scored, missing = Counts(), Counts(), []
    for truth in manifest:
        if truth.site not in sites:
            continue
        url = canonical_url(base_urls[truth.site].rstrip("/") + truth.path, strip_params.get(truth.site, ()))
        expected_findings[url] = FINDINGS.get((truth.site, truth.path), frozenset())
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
        findings=score_findings(expected_findings, findings_by_ad),
        db_path=str(Path(store.path).resolve()),
    )


def score_findings(
    expected: dict[str, frozenset[str]], found: dict[str, set[str]]
) -> dict[str, dict[str, float | int]]:
    """Page-level precision and recall of each finding kind; a finding on a page outside the truth is a false alarm."""
    scores: dict[str, dict[str, float | int]] = {}
    pages = expected.keys() | found.keys()
    for kind in sorted(set(FINDING_KINDS) | {k for kinds in found.values() for k in kinds}):
        counts = Counts()
        for url in pages:
            counts.add(frozenset({kind} & expected.get(url, frozenset())), frozenset({kind} & found.get(url, set())))
        metrics = counts.metrics()
        scores[kind] = {"expected": counts.tp + counts.fn, "found": counts.tp + counts.fp,
                        "precision": metrics["precision"], "recall": metrics["recall"]}  # fmt: skip
    return scores

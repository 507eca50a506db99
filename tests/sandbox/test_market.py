"""Issue #20: the market site crawled for real finds exactly the planted findings, and nothing beside them.

The real CLI crawls the real 集市优选 server into a real SQLite store; every stored finding is compared
page by page with ``sandbox.manifest.FINDINGS``, and the demo's per-kind scores are computed from them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from crawler.config import project_settings
from crawler.urls import canonical_url
from dashboards.app import create_app
from dashboards.catalog import load_catalog
from dashboards.config import ConsoleConfig
from indexer.backend import HitQuery, Review
from indexer.sqlite import SqliteStore
from rules.market_findings import finding_labels, is_finding
from sandbox.demo import score_findings
from sandbox.manifest import FINDING_KINDS, FINDINGS, load_manifest
from sandbox.server import SandboxWeb
from sandbox.sites.market import MARKET_FINDINGS, SALES_WITHOUT_REVIEWS
from tests.conftest import REPO, CrawlRun, run_adwatch


@pytest.fixture(scope="module")
def market_crawl(web: SandboxWeb, tmp_path_factory: pytest.TempPathFactory) -> CrawlRun:
    run = run_adwatch(["crawl", "market", "--base-url", f"market={web.base_urls['market']}"],
                      tmp_path_factory.mktemp("market"))  # fmt: skip
    assert run.returncode == 0, run.stderr
    return run


def _findings(db_path: Path) -> dict[str, set[str]]:
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT a.canonical_url, h.rule_id FROM hits h JOIN ads a ON a.id = h.ad_id").fetchall()
    found: dict[str, set[str]] = {}
    for url, rule_id in rows:
        if is_finding(rule_id):
            found.setdefault(url, set()).add(rule_id)
    return found


def _expected(web: SandboxWeb) -> dict[str, frozenset[str]]:
    return {
        canonical_url(web.url(t.site, t.path)): FINDINGS.get((t.site, t.path), frozenset())
        for t in load_manifest()
        if t.site == "market"
    }


def test_every_planted_finding_is_found_on_its_page_and_no_other(web: SandboxWeb, market_crawl: CrawlRun) -> None:
    expected = _expected(web)
    found = _findings(market_crawl.db_path)
    assert {url: frozenset(kinds) for url, kinds in found.items()} == {u: k for u, k in expected.items() if k}


def test_each_kind_scores_full_precision_and_recall_on_the_sandbox(web: SandboxWeb, market_crawl: CrawlRun) -> None:
    scores = score_findings(_expected(web), _findings(market_crawl.db_path))
    assert set(scores) == set(FINDING_KINDS)
    for kind, figures in scores.items():
        assert (figures["precision"], figures["recall"]) == (1.0, 1.0), kind
        assert figures["expected"] >= 1, kind


def test_the_lawful_near_misses_stay_clean_as_ads_too(web: SandboxWeb, market_crawl: CrawlRun) -> None:
    """The market's pages break no article of the Advertising Law: their only hits are findings."""
    with sqlite3.connect(market_crawl.db_path) as conn:
        rules = {row[0] for row in conn.execute("SELECT rule_id FROM hits")}
    assert rules and all(is_finding(rule) for rule in rules)


def test_findings_are_listed_like_ad_hits_with_law_article_and_evidence(market_crawl: CrawlRun) -> None:
    run = run_adwatch(["hits", "--site", "market", "--format", "jsonl"], market_crawl.data_dir)
    assert run.returncode == 0, run.stderr
    hits = [json.loads(line) for line in run.stdout.splitlines()]
    burst = next(h for h in hits if h["rule_id"] == "market-review-burst")
    assert burst["article"].startswith("电子商务法第十七条")
    assert "12条五星评价" in burst["matched"]
    assert {h["rule_id"] for h in hits} >= {"market-brand-price-anomaly", "market-licence-missing"}


def test_the_finding_kinds_are_every_market_rule() -> None:
    assert {*FINDING_KINDS, *SALES_WITHOUT_REVIEWS.values()} == set(finding_labels())


FOCUS = {
    "market-counterfeit-wording": "侵权假冒",
    "market-brand-price-anomaly": "侵权假冒",
    "market-heritage-unauthorised": "侵权假冒",
    "market-review-cashback": "刷单炒信",
    "market-review-burst": "刷单炒信",
    "market-review-duplicate": "刷单炒信",
    "market-format-clause": "其他违法行为",
    "market-return-refusal": "其他违法行为",
    "market-licence-missing": "其他违法行为",
    "market-licence-name-mismatch": "其他违法行为",
    "market-icp-missing": "其他违法行为",
}


def test_each_stored_finding_counts_under_its_focus_area_in_the_monthly_sheet(market_crawl: CrawlRun) -> None:
    """The sheet's 按重点领域 rows read a hit's article key, as for ad hits (dashboards/console.yaml)."""
    catalog = load_catalog()
    with sqlite3.connect(market_crawl.db_path) as conn:
        stored = dict(conn.execute("SELECT DISTINCT rule_id, article_key FROM hits").fetchall())
    assert set(stored) == set(FOCUS)
    assert {rule: catalog.focus_area(key) for rule, key in stored.items()} == FOCUS


def test_a_finding_is_confirmed_dismissed_and_filtered_like_an_ad_hit(market_crawl: CrawlRun, tmp_path: Path) -> None:
    """The store's review and query paths, which the console's queue, filters and statistics use."""
    db_path = tmp_path / "copy.db"
    with sqlite3.connect(market_crawl.db_path) as source, sqlite3.connect(db_path) as copy:
        source.backup(copy)
    with SqliteStore(db_path) as store:
        burst = store.search_hits(HitQuery(rule_ids=("market-review-burst",))).hits[0]
        icp = store.search_hits(HitQuery(rule_ids=("market-icp-missing",))).hits[0]
        assert store.set_review(burst["hit_id"], Review("confirmed", "chief"))
        assert store.set_review(icp["hit_id"], Review("dismissed", "chief", "false_match"))
        confirmed = store.search_hits(HitQuery(statuses=("confirmed",), aggregations=("article",)))
        assert [h["rule_id"] for h in confirmed.hits] == ["market-review-burst"]
        assert confirmed.aggregations["article"] == {"电子商务法第十七条": 1}
        by_article = store.search_hits(HitQuery(articles=("消费者权益保护法第二十六条",), size=50))
        assert {h["rule_id"] for h in by_article.hits} == {"market-format-clause"}
        assert by_article.total == 2


class Calendar:
    """The sandbox clock, moved by the test between crawls."""

    def __init__(self) -> None:
        self.today = date(2026, 11, 1)

    def __call__(self) -> date:
        return self.today


def test_sales_that_grow_across_crawls_without_reviews_are_found_and_honest_growth_is_not(tmp_path: Path) -> None:
    calendar = Calendar()
    with SandboxWeb(port_base=None, slow_seconds=0.5, clock=calendar) as web:
        for day in (date(2026, 11, 1), date(2026, 11, 4)):
            calendar.today = day
            run = run_adwatch(["crawl", "market", "--base-url", f"market={web.base_urls['market']}"], tmp_path)
            assert run.returncode == 0, run.stderr
        base = web.base_urls["market"].rstrip("/")
    with sqlite3.connect(tmp_path / "adwatch.db") as conn:
        rows = conn.execute(
            """SELECT a.canonical_url, h.matched FROM hits h JOIN ads a ON a.id = h.ad_id
               WHERE h.rule_id = 'market-sales-without-reviews'"""
        ).fetchall()
        observed = {n for (n,) in conn.execute("SELECT count(*) FROM market_counts GROUP BY ad_id")}
    assert {url.removeprefix(base): "market-sales-without-reviews" for url, _ in rows} == SALES_WITHOUT_REVIEWS
    assert rows[0][1] == "销量 93300→102300（+9000），评价 15→15（+0）"
    assert observed == {2}  # every listing, once a crawl


def _console_login(client: TestClient, password: str) -> None:
    form = client.get("/login").text
    token = form.split('name="login_csrf" value="', 1)[1].split('"', 1)[0]
    answer = client.post("/login", data={"username": "chief", "password": password, "login_csrf": token})
    assert answer.status_code == 303


def test_a_reviewer_confirms_and_dismisses_findings_in_the_console(market_crawl: CrawlRun, tmp_path: Path) -> None:
    """The real console app over a copy of the crawl: findings are queued, opened and decided like ad hits."""
    data_dir = tmp_path / "data"
    shutil.copytree(market_crawl.data_dir, data_dir, ignore=shutil.ignore_patterns("logs", "raw"))
    password = "market-review-20"
    added = subprocess.run(
        [sys.executable, "adwatch.py", "users", "add", "chief", "--role", "chief", "--password-stdin"],
        cwd=REPO, input=password + "\n", capture_output=True, text=True,
        env={**os.environ, "ADWATCH_DATA_DIR": str(data_dir)},
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    settings = project_settings()
    settings.set("ADWATCH_DATA_DIR", str(data_dir))
    with TestClient(create_app(ConsoleConfig.from_settings(settings)), follow_redirects=False) as client:
        _console_login(client, password)
        queue = client.get("/queue", params={"site": "market"})
        hit_ids = list(dict.fromkeys(re.findall(r'href="/hits/([0-9a-f]{20})"', queue.text)))
        assert len(hit_ids) == len(MARKET_FINDINGS)  # one queue row per page with findings
        for hit_id, action in ((hit_ids[0], "confirm"), (hit_ids[1], "dismiss")):
            page = client.get(f"/hits/{hit_id}").text
            token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            form = {"action": action, "csrf_token": token, "reason_code": "false_match"}
            decided = client.post(f"/hits/{hit_id}/decision", data=form)
            assert decided.status_code == 303
    with sqlite3.connect(data_dir / "adwatch.db") as conn:
        statuses = {
            status
            for hit_id in hit_ids[:2]
            for (status,) in conn.execute(
                "SELECT review_status FROM hits WHERE ad_id = (SELECT ad_id FROM hits WHERE id = ?)", (hit_id,)
            )
        }
    assert statuses == {"confirmed", "dismissed"}

"""The generic spider crawls every sandbox site for real and gets what the ground truth says is there."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.urls import canonical_url
from sandbox.manifest import EDITORIAL, TRAPS, load_manifest
from sandbox.server import SITES, SandboxWeb
from tests.conftest import REPO, CrawlRun, base_url_args, run_adwatch

MANIFEST = load_manifest()


def stored_ads(run: CrawlRun) -> dict[str, sqlite3.Row]:
    with sqlite3.connect(run.db_path) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(
            "SELECT a.canonical_url, a.site, v.* FROM ads a JOIN ad_versions v ON v.id = a.current_version"
        ).fetchall()
    return {row["canonical_url"]: row for row in rows}


def fetched_paths(run: CrawlRun) -> list[str]:
    """Every URL path the crawl received a response for, from its WARC archive."""
    paths = []
    for warc in sorted((run.data_dir / "raw").glob("*.warc.gz")):
        with warc.open("rb") as handle:
            for record in ArchiveIterator(handle):
                url = record.rec_headers.get_header("WARC-Target-URI")
                paths.append(url.split("/", 3)[3] if url.count("/") >= 3 else "")
    return ["/" + p for p in paths]


def truth_url(web: SandboxWeb, site: str, path: str) -> str:
    return canonical_url(web.url(site, path))


@pytest.mark.parametrize("site", SITES)
def test_every_ad_of_the_site_is_extracted_as_the_ground_truth_says(
    web: SandboxWeb, crawled: CrawlRun, site: str
) -> None:
    ads = stored_ads(crawled)
    truths = [t for t in MANIFEST if t.site == site]
    assert truths
    for truth in truths:
        row = ads.get(truth_url(web, site, truth.path))
        assert row is not None, f"{truth.path} not stored"
        assert row["title"] == truth.title
        assert row["seller"] == truth.seller
        assert json.loads(row["prices"])[:1] == list(truth.prices[:1])


def test_duplicate_urls_differing_only_by_tracking_parameters_collapse_into_one_ad(
    web: SandboxWeb, crawled: CrawlRun
) -> None:
    ads = stored_ads(crawled)
    assert not [url for url in ads if any(p in url for p in ("utm_", "spm=", "from="))]
    per_site = Counter(row["site"] for row in ads.values() if "/shop/" not in row["url"])
    expected = Counter(t.site for t in MANIFEST)
    expected["news"] += len(EDITORIAL["news"])
    assert per_site == expected


def test_robots_txt_is_fetched_and_obeyed(crawled: CrawlRun) -> None:
    paths = fetched_paths(crawled)
    assert "/robots.txt" in paths
    disallowed = [p for site in SITES for p in TRAPS[site]["robots_disallowed"]]
    assert disallowed
    assert not [p for p in paths if p.startswith(("/admin/", "/cart/", "/member/", "/user/"))]


def test_the_endless_calendar_is_not_followed(crawled: CrawlRun) -> None:
    assert not [p for p in fetched_paths(crawled) if p.startswith("/calendar/")]


def test_redirects_slow_pages_and_error_pages_are_handled(web: SandboxWeb, crawled: CrawlRun) -> None:
    paths = fetched_paths(crawled)
    assert "/promo/slow.html" in paths
    assert "/item/1005.html" in paths and "/item/1010.html" in paths
    ads = stored_ads(crawled)
    assert not [url for url in ads if "/old/" in url or "/go/" in url or "/r/" in url]
    with sqlite3.connect(crawled.db_path) as conn:
        runs = {
            site: (pages, errors) for site, pages, errors in conn.execute("SELECT site, pages, errors FROM crawl_runs")
        }
    assert set(runs) == set(SITES)
    assert runs["mall"][1] >= 3  # two 404s and a 500, counted, and the crawl went on


def test_gbk_pages_declared_only_in_a_meta_tag_are_decoded(web: SandboxWeb, crawled: CrawlRun) -> None:
    ads = stored_ads(crawled)
    for path in TRAPS["mall"]["gbk"] + TRAPS["mall"]["wrong_charset"]:
        shop = ads[truth_url(web, "mall", path)]
        assert shop["title"] in {t.seller for t in MANIFEST if t.site == "mall"}


def test_each_item_points_at_its_raw_response_in_the_warc_archive(crawled: CrawlRun) -> None:
    row = next(iter(stored_ads(crawled).values()))
    name, offset = row["raw_ref"].split("#")
    with (crawled.data_dir / "raw" / name).open("rb") as handle:
        handle.seek(int(offset))
        record = next(iter(ArchiveIterator(handle)))
        assert record.rec_headers.get_header("WARC-Target-URI") == row["url"]
        assert record.http_headers.get_statuscode() == "200"


def test_hits_are_listed_as_json_lines_with_stable_ids(crawled: CrawlRun) -> None:
    listing = run_adwatch(["hits", "--format", "jsonl"], crawled.data_dir)
    assert listing.returncode == 0, listing.stderr
    hits = [json.loads(line) for line in listing.stdout.splitlines()]
    assert len(hits) > 100
    assert all({"id", "url", "site", "rule_id", "article"} <= set(h) for h in hits)
    assert len({h["id"] for h in hits}) == len(hits)


def test_a_recrawl_is_idempotent(web: SandboxWeb, crawled: CrawlRun, tmp_path: Path) -> None:
    data_dir = tmp_path / "again"
    shutil.copytree(crawled.data_dir, data_dir)
    before = run_adwatch(["hits", "--format", "jsonl"], data_dir).stdout
    again = run_adwatch(["crawl", *SITES, *base_url_args(web)], data_dir)
    assert again.returncode == 0, again.stderr
    with sqlite3.connect(data_dir / "adwatch.db") as conn:
        counts = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("ads", "ad_versions", "hits")]
        second_runs = conn.execute("SELECT new_versions, unchanged, items FROM crawl_runs ORDER BY id DESC LIMIT 6")
        assert all(new == 0 and unchanged == items for new, unchanged, items in second_runs)
    with sqlite3.connect(crawled.db_path) as conn:
        assert counts == [
            conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("ads", "ad_versions", "hits")
        ]
    assert run_adwatch(["hits", "--format", "jsonl"], data_dir).stdout == before


def test_scrapy_crawl_conventions_keep_working() -> None:
    listed = subprocess.run([sys.executable, "-m", "scrapy", "list"], cwd=REPO, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    assert set(SITES) <= set(listed.stdout.split())

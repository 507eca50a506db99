"""The hostile-site suite (#19, item 8): a real crawl of about 1,000 hostile pages, counted against their ground truth.

The adwatch CLI in a subprocess crawls the hostile site (sandbox/hostile.py) with its profile
(sandbox/profiles/hostile.yaml): every ad a browser shows must be stored, readable; nothing may be
fetched from the off-site host the redirects point at, nor from pages robots.txt forbids; the crawl
must end "finished" without a traceback.  ``pytest -s`` prints the table of expected against stored
by case (``python -m sandbox hostile-report DATA_DIR`` prints it for any crawl).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from sandbox.hostile import CASES, KEY, HostileWeb, hostile_truth
from sandbox.hostile_report import CaseCount, count_by_case, format_table, stored_ads
from tests.conftest import REPO, CrawlRun, run_adwatch


@dataclass
class HostileCrawl:
    web: HostileWeb
    run: CrawlRun
    counts: dict[str, CaseCount]

    @property
    def log(self) -> str:
        (log,) = (self.run.data_dir / "logs").glob("crawl-*.log")
        return log.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileCrawl]:
    with HostileWeb(port=None) as web:
        run = run_adwatch(
            ["crawl", KEY, "--base-url", f"{KEY}={web.base_url}"],
            tmp_path_factory.mktemp("hostile"),
            {"ADWATCH_INDEX_ENABLED": "false"},
            timeout=180,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        counts = count_by_case(stored_ads(run.db_path))
        print("\n" + format_table(counts))
        yield HostileCrawl(web, run, {count.case: count for count in counts})


def test_the_ground_truth_has_1000_places_in_named_cases() -> None:
    truth = hostile_truth()
    assert len(truth) == 1000
    assert {place.case for place in truth} == set(CASES)
    phrases = [place.phrase for place in truth if place.phrase]
    assert len(phrases) == len(set(phrases))
    assert truth == hostile_truth()


def test_the_crawl_finishes_without_a_crash(hostile: HostileCrawl) -> None:
    assert "Traceback" not in hostile.run.stderr
    assert "Traceback" not in hostile.log
    with sqlite3.connect(hostile.run.db_path) as conn:
        assert conn.execute("SELECT finish_reason FROM crawl_runs").fetchall() == [("finished",)]


def test_every_ad_a_browser_shows_is_stored_readable(hostile: HostileCrawl) -> None:
    missed = {case: (count.stored, count.expected) for case, count in hostile.counts.items() if count.missed}
    unreadable = {case: count.unreadable for case, count in hostile.counts.items() if count.unreadable}
    assert (missed, unreadable) == ({}, {})
    assert sum(count.stored for count in hostile.counts.values()) == 855


def test_nothing_is_fetched_off_site(hostile: HostileCrawl) -> None:
    assert dict(hostile.web.site.offsite_hits) == {}
    for case in ("offsite_302_absolute", "offsite_302_scheme_relative", "offsite_meta_refresh"):
        assert hostile.counts[case].refused == 20 and hostile.counts[case].refused_stored == 0, case
        assert all(hostile.web.site.hits[f"/go/{case}/{n}"] for n in range(20)), case  # each redirect was asked


def test_pages_robots_txt_forbids_are_neither_fetched_nor_stored(hostile: HostileCrawl) -> None:
    assert [path for path in hostile.web.site.hits if path.startswith("/private/")] == []
    assert hostile.counts["robots_disallowed"].refused_stored == 0
    assert "'adwatch/skipped/robots_txt': 30," in hostile.log


def test_a_page_slower_than_the_timeout_is_lost_and_the_others_are_not(hostile: HostileCrawl) -> None:
    slow = hostile.counts["slow"]
    assert (slow.stored, slow.refused, slow.refused_stored) == (3, 3, 0)


def test_doubtful_decodings_carry_their_doubt_into_the_store(hostile: HostileCrawl) -> None:
    doubts = {case: (count.doubted, count.doubts) for case, count in hostile.counts.items() if count.doubts}
    assert doubts == {"charset_utf8_bad_bytes": (30, 30), "charset_header_utf8_bytes_gbk": (30, 30)}


def test_traps_end_at_the_depth_limit(hostile: HostileCrawl) -> None:
    """The endless calendar and pagination are followed only as deep as the profile allows (max_depth: 5)."""
    assert 0 < hostile.web.site.trap_hits() <= 20


def test_repairs_and_bad_records_are_counted(hostile: HostileCrawl) -> None:
    for stat in (
        "'adwatch/html/stray_end_tag': 10,",
        "'adwatch/html/deep_nesting': 24,",
        "'adwatch/error/bad_record': 4,",
        "'adwatch/item/encoding_doubt': 60,",
    ):
        assert stat in hostile.log  # Scrapy's stats dump


def test_the_report_command_prints_the_table(hostile: HostileCrawl) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "sandbox", "hostile-report", str(hostile.run.data_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.strip() == format_table(list(hostile.counts.values()))


def test_the_off_site_host_is_the_same_machine_under_another_name(hostile: HostileCrawl) -> None:
    """Only the host check keeps the crawl off it: the name differs, the machine does not."""
    assert urlsplit(hostile.web.offsite_url).hostname == "localhost"
    assert urlsplit(hostile.web.base_url).hostname == "127.0.0.1"

"""Price tricks across crawls: the detectors on hand-made histories, then the flashsale sandbox crawled for real
on several virtual dates (the sandbox clock and the crawler's clock moved together), where the planted tricks
are flagged and the honest discounts are not."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from crawler.urls import canonical_url
from indexer.backend import HitQuery
from indexer.documents import ItemText, hit_documents
from indexer.engine import EngineIndex
from indexer.sqlite import SqliteStore
from rules.price_tricks import Observation, find_tricks, stated_discounts
from sandbox.manifest import HONEST_DISCOUNTS, PRICE_TRICKS, flashsale_truth
from sandbox.server import SandboxWeb
from sandbox.sites.flashsale import LISTINGS
from tests.conftest import REPO, CrawlRun
from tests.indexer.conftest import drop, unique_prefix
from tests.support.engines import EngineNode

# --- the detectors -----------------------------------------------------------------------------

DAY = datetime(2026, 11, 1, 12, tzinfo=UTC)


def _history(*points: tuple[int, float, float | None], text: str = "") -> list[Observation]:
    """(days relative to the sale's first day, price, reference) → observations."""
    return [Observation(DAY + timedelta(days=d), p, r, text) for d, p, r in points]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("双十一限时5折", [0.5]),
        ("活动价8.5折", [0.85]),
        ("会员85折", [0.85]),
        ("全场八五折", [0.85]),
        ("第二件半价", [0.5]),
        ("全场低至5折", []),
        ("3折起", []),
        ("直降40元", []),
    ],
    ids=["digit", "decimal", "two-digit", "hanzi", "half", "as-low-as", "from", "no-discount"],
)
def test_stated_discounts(text: str, expected: list[float]) -> None:
    assert [d.ratio for d in stated_discounts(text)] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        (_history((-20, 199, None), (-12, 259, None), (-3, 259, None), (0, 219, 259)), ["price-raise-then-discount"]),
        (_history((-20, 89, None), (-3, 89, None), (0, 79, 159)), ["price-reference-above-7day-low"]),
        (_history((-3, 399, None), (0, 299, 399), text="限时5折"), ["price-discount-mismatch"]),
        (_history((-20, 299, None), (-3, 299, None), (0, 239, 299), text="8折"), []),
        (_history((-60, 59, None), (-20, 69, None), (-3, 69, None), (0, 59, 69)), []),
        (_history((0, 79, 159)), []),  # never seen before the sale: nothing to compare with
        (_history((-20, 199, None), (-12, 259, None), (-3, 199, None), (0, 219, 259)), [
            "price-raise-then-discount", "price-reference-above-7day-low"]),
    ],
    ids=["raise-then-discount", "fake-original", "discount-mismatch", "honest-8-zhe", "old-rise", "first-sight",
         "raised-within-7-days"],
)  # fmt: skip
def test_find_tricks(history: list[Observation], expected: list[str]) -> None:
    assert [f.rule_id for f in find_tricks(history)] == expected


def test_the_seven_day_rule_counts_from_the_start_of_the_promotion_not_from_each_crawl() -> None:
    history = _history((-10, 299, None), (-2, 299, None), (0, 239, 299), (1, 239, 299), (5, 239, 299))
    assert find_tricks(history) == []


def test_findings_cite_the_price_law_and_mark_unverified_article_numbers() -> None:
    history = _history((-20, 199, None), (-12, 259, None), (-3, 199, None), (0, 219, 259))
    hits = [f.hit() for f in find_tricks(history)]
    assert {h["article_key"] for h in hits} == {
        "明码标价和禁止价格欺诈规定第十九条",
        "明码标价和禁止价格欺诈规定第十四条",
    }
    assert all("价格法" in h["article"] or "未经" in h["explanation"] for h in hits)
    assert all(h["penalty"].startswith("《价格法》第四十条") for h in hits)


# --- the sandbox shop's prices follow its clock ------------------------------------------------------


def test_flashsale_prices_follow_the_calendar() -> None:
    by_number = {item.number: item for item in LISTINGS}
    assert by_number[7003].prices(date(2026, 10, 10)) == (199.0,)
    assert by_number[7003].prices(date(2026, 10, 25)) == (259.0,)
    assert by_number[7003].prices(date(2026, 11, 3)) == (219.0, 259.0)
    assert by_number[7003].prices(date(2026, 11, 28)) == (199.0,)
    assert {t.path for t in flashsale_truth(date(2026, 11, 3))} == set(PRICE_TRICKS) | set(HONEST_DISCOUNTS)


# --- real crawls on virtual dates -------------------------------------------------------------------

# The crawl runs in a child process whose clock time-machine moves to the round's date (it ticks on from there).
_TRAVEL = (
    "import sys, time_machine; time_machine.travel(sys.argv.pop(1), tick=True).start(); import adwatch; adwatch.main()"
)
ROUNDS = (date(2026, 10, 10), date(2026, 10, 24), date(2026, 10, 29), date(2026, 11, 2), date(2026, 11, 5))


class Calendar:
    def __init__(self) -> None:
        self.today = ROUNDS[0]

    def __call__(self) -> date:
        return self.today


@pytest.fixture(scope="module")
def shop() -> Iterator[tuple[SandboxWeb, Calendar]]:
    calendar = Calendar()
    with SandboxWeb(port_base=None, slow_seconds=0.5, clock=calendar) as web:
        yield web, calendar


def _environment(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADWATCH_")}
    return {**env, "ADWATCH_DATA_DIR": str(data_dir)}


def crawl_on(day: date, web: SandboxWeb, data_dir: Path, extra_env: dict[str, str] | None = None) -> CrawlRun:
    moment = f"{day.isoformat()}T12:00:00+08:00"
    env = {**_environment(data_dir), **(extra_env or {})}
    site_url = f"flashsale={web.base_urls['flashsale']}"
    proc = subprocess.run(
        [sys.executable, "-c", _TRAVEL, moment, "crawl", "flashsale", "--base-url", site_url],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    return CrawlRun(data_dir, proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("flashsale")


@pytest.fixture(scope="module")
def search_engine(opensearch_node: EngineNode) -> Iterator[EngineIndex]:
    """The index the rounds' crawls write to, on the session's real OpenSearch node, under its own prefix."""
    index = EngineIndex(opensearch_node.client(), prefix=unique_prefix("prices"), replicas=0)
    yield index
    drop(index)
    index.close()


@pytest.fixture(scope="module")
def rounds(
    shop: tuple[SandboxWeb, Calendar], data_dir: Path, opensearch_node: EngineNode, search_engine: EngineIndex
) -> dict[date, list[dict]]:
    """Crawl the flashsale shop on each round's date, into the store and OpenSearch; the hits (as `adwatch hits`
    lists them from the store) after each round."""
    web, calendar = shop
    engine = {"ADWATCH_INDEX": opensearch_node.index_url, "ADWATCH_INDEX_PREFIX": search_engine.names.prefix,
              "ADWATCH_INDEX_REPLICAS": "0"}
    listed: dict[date, list[dict]] = {}
    for day in ROUNDS:
        calendar.today = day
        run = crawl_on(day, web, data_dir, engine)
        assert run.returncode == 0, run.stderr
        hits = _run_cli(["hits", "--site", "flashsale", "--format", "jsonl"], data_dir)
        listed[day] = [json.loads(line) for line in hits.splitlines()]
    return listed


def _run_cli(args: list[str], data_dir: Path) -> str:
    proc = subprocess.run(
        [sys.executable, str(REPO / "adwatch.py"), *args],
        cwd=REPO, env=_environment(data_dir), capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _path(hit: dict) -> str:
    return "/" + hit["canonical_url"].split("/", 3)[3]


@pytest.mark.timeout(900)  # five real crawls, slow on a loaded machine
def test_no_price_hit_before_the_sale(rounds: dict[date, list[dict]]) -> None:
    for day in ROUNDS[:3]:
        assert [h for h in rounds[day] if h["rule_id"].startswith("price-")] == [], day


@pytest.mark.timeout(900)  # five real crawls, slow on a loaded machine
def test_planted_tricks_are_flagged_and_honest_discounts_are_not(rounds: dict[date, list[dict]]) -> None:
    found = {(_path(h), h["rule_id"]) for h in rounds[ROUNDS[3]] if h["rule_id"].startswith("price-")}
    assert found == set(PRICE_TRICKS.items())
    assert not {path for path, _ in found} & set(HONEST_DISCOUNTS)


@pytest.mark.timeout(900)  # five real crawls, slow on a loaded machine
def test_price_hits_are_stable_across_rounds_and_carry_the_law(rounds: dict[date, list[dict]]) -> None:
    first = {h["id"]: h for h in rounds[ROUNDS[3]] if h["rule_id"].startswith("price-")}
    again = {h["id"]: h for h in rounds[ROUNDS[4]] if h["rule_id"].startswith("price-")}
    assert first.keys() == again.keys()
    for hit in again.values():
        assert hit["law"] == "明码标价和禁止价格欺诈规定"
        assert hit["article_key"].startswith("明码标价和禁止价格欺诈规定第")
        assert "价格法" in hit["penalty"] and hit["explanation"] and hit["matched"]


@pytest.mark.timeout(900)  # five real crawls, slow on a loaded machine
def test_every_crawl_records_an_observation_even_when_nothing_changed(
    rounds: dict[date, list[dict]], shop: tuple[SandboxWeb, Calendar], data_dir: Path
) -> None:
    web, _ = shop
    db = data_dir / "adwatch.db"
    with sqlite3.connect(db) as conn:
        per_ad = conn.execute("SELECT ad_id, count(*) FROM price_observations GROUP BY ad_id").fetchall()
        versions = dict(conn.execute("SELECT ad_id, count(*) FROM ad_versions GROUP BY ad_id").fetchall())
    assert len(per_ad) == len(LISTINGS)
    assert all(count == len(ROUNDS) for _, count in per_ad)
    assert any(versions[ad] < count for ad, count in per_ad)  # unchanged pages were observed all the same
    url = canonical_url(web.url("flashsale", "/deal/7003.html"))
    with sqlite3.connect(db) as conn:
        prices = conn.execute(
            """SELECT o.price, o.reference_price FROM price_observations o JOIN ads a ON a.id = o.ad_id
               WHERE a.canonical_url = ? ORDER BY o.observed_at""",
            (url,),
        ).fetchall()
    assert prices == [(199.0, None), (259.0, None), (259.0, None), (219.0, 259.0), (219.0, 259.0)]


@pytest.mark.timeout(900)  # five real crawls, slow on a loaded machine
def test_an_index_built_from_the_store_keys_price_findings_by_their_stored_ids(
    rounds: dict[date, list[dict]], data_dir: Path
) -> None:
    with SqliteStore(data_dir / "adwatch.db") as store:
        stored = {hit["hit_id"] for hit in store.search_hits(HitQuery(size=10_000, current_only=False)).hits}
        indexed = {doc["hit_id"] for item in store.iter_items() for doc in hit_documents(item, ItemText.of(item))}
    assert any(hit["rule_id"].startswith("price-") for hit in rounds[ROUNDS[4]])
    assert indexed == stored


@pytest.mark.timeout(900)  # five real crawls, slow on a loaded machine
def test_findings_stored_after_a_crawl_reach_the_search_engine_without_a_rebuild(
    rounds: dict[date, list[dict]], data_dir: Path, search_engine: EngineIndex
) -> None:
    price_rules = tuple({hit["rule_id"] for hit in rounds[ROUNDS[4]] if hit["rule_id"].startswith("price-")})
    with SqliteStore(data_dir / "adwatch.db") as store:
        stored = {hit["hit_id"] for hit in store.search_hits(HitQuery(size=10_000, rule_ids=price_rules)).hits}
    search_engine.refresh()
    indexed = {hit["hit_id"] for hit in search_engine.search_hits(HitQuery(size=10_000, rule_ids=price_rules)).hits}
    assert len(stored) == len(PRICE_TRICKS)
    assert indexed == stored

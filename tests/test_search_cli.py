"""``adwatch search`` (issue #16 item 3): the search language and filters from the command line, one ad a JSON line,
on the sandbox crawl, from the SQLite store and from a real OpenSearch and Elasticsearch holding the same ads.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.documents import ad_key
from indexer.sqlite import SqliteStore
from tests.conftest import ENGINES, CrawlRun, run_adwatch
from tests.dashboards.conftest import index_into


@pytest.fixture
def data_dir(crawled: CrawlRun, tmp_path: Path) -> Path:
    return Path(shutil.copytree(crawled.data_dir, tmp_path / "data", ignore=shutil.ignore_patterns("logs", "raw")))


@pytest.fixture(params=("sqlite", *ENGINES))
def index_env(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[dict[str, str]]:
    """``ADWATCH_INDEX`` for each backend: empty (the store), or the crawl indexed into a real engine."""
    if request.param == "sqlite":
        yield {"ADWATCH_INDEX": ""}
        return
    node = request.getfixturevalue(f"{request.param}_node")
    index = index_into(node, data_dir / "adwatch.db")
    try:
        yield {"ADWATCH_INDEX": node.index_url, "ADWATCH_INDEX_PREFIX": index.names.prefix,
               "ADWATCH_INDEX_REPLICAS": "0"}
    finally:
        index.remove()
        index.close()


def _stored(data_dir: Path) -> list[tuple[str, str, str]]:
    """(canonical URL, site, document text) of every stored ad's current version."""
    with SqliteStore(data_dir / "adwatch.db") as store:
        return store.conn.execute("""SELECT a.canonical_url, a.site, adwatch_document(v.title, v.body, v.image_alts)
                                     FROM ads a JOIN ad_versions v ON v.id = a.current_version""").fetchall()


def _jsonl(data_dir: Path, env: dict[str, str], *args: str) -> list[dict]:
    run = run_adwatch(["search", *args, "--format", "jsonl"], data_dir, extra_env=env)
    assert run.returncode == 0, run.stderr
    return [json.loads(line) for line in run.stdout.splitlines()]


def test_a_single_character_finds_every_stored_ad_holding_it(data_dir: Path, index_env: dict[str, str]) -> None:
    holding = {ad_key(url) for url, _, text in _stored(data_dir) if "最" in text}
    lines = _jsonl(data_dir, index_env, "最", "--limit", "100000")
    assert len(lines) == len(holding) > 100
    assert {line["id"] for line in lines} == holding
    assert all({"id", "url", "site", "title"} <= set(line) for line in lines)


def test_filters_sort_and_the_language_on_the_command_line(data_dir: Path, index_env: dict[str, str]) -> None:
    stored = _stored(data_dir)
    either = {ad_key(url) for url, site, text in stored
              if site == "pharmacy" and ("糖尿病" in text or "高血压" in text)}
    lines = _jsonl(data_dir, index_env, "糖尿病 OR 高血压", "--site", "pharmacy", "--sort", "risk", "--limit", "1000")
    assert {line["id"] for line in lines} == either and {line["site"] for line in lines} == {"pharmacy"}
    assert [line["risk"] for line in lines] == sorted((line["risk"] for line in lines), reverse=True)
    without = _jsonl(data_dir, index_env, "糖尿病 -高血压", "--site", "pharmacy", "--limit", "1000")
    assert {line["id"] for line in without} == {ad_key(url) for url, site, text in stored if site == "pharmacy"
                                                and "糖尿病" in text and "高血压" not in text}
    assert [line["id"] for line in _jsonl(data_dir, index_env, "治癒", "--limit", "1000")] == [
        line["id"] for line in _jsonl(data_dir, index_env, "治愈", "--limit", "1000")]


def test_a_search_without_query_or_filter_is_refused_in_chinese(data_dir: Path) -> None:
    run = run_adwatch(["search"], data_dir, extra_env={"ADWATCH_INDEX": ""})
    assert run.returncode == 2 and "请给出检索词或筛选条件" in run.stderr

"""IndexPipeline: off for the SQLite store, indexes a real crawl when ADWATCH_INDEX names an engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from crawler.config import project_settings
from crawler.pipelines.index import IndexPipeline
from indexer.backend import HitQuery
from indexer.config import IndexConfigError
from indexer.engine import EngineIndex
from indexer.sqlite import SqliteStore
from sandbox.server import SandboxWeb
from tests.conftest import base_url_args, run_adwatch
from tests.indexer.conftest import drop, unique_prefix
from tests.indexer.items import catalogue
from tests.support.engines import EngineNode


def crawler_for(overrides: dict) -> Crawler:
    """A crawler with the project's settings plus ``overrides`` (as ``-s NAME=VALUE`` would give)."""
    defaults = {k: v for k, v in project_settings().copy_to_dict().items() if k.startswith("ADWATCH_")}
    return get_crawler(settings_dict={**defaults, **overrides})


def engine_settings(node: EngineNode, tmp_path: Path, prefix: str, **more) -> dict:
    return {"ADWATCH_INDEX": node.index_url, "ADWATCH_INDEX_PREFIX": prefix,
            "ADWATCH_INDEX_REPLICAS": 0, "ADWATCH_DATA_DIR": str(tmp_path), **more}


@pytest.mark.parametrize("overrides", [{}, {"ADWATCH_INDEX": "sqlite:///data/adwatch.db"},
                                       {"ADWATCH_INDEX": "opensearch+http://h:9", "ADWATCH_INDEX_ENABLED": False}],
                         ids=["default", "sqlite", "disabled"])
def test_the_stage_is_off_unless_an_engine_is_named(overrides: dict) -> None:
    with pytest.raises(NotConfigured):
        IndexPipeline.from_crawler(crawler_for(overrides))


@pytest.mark.parametrize("overrides", [{"ADWATCH_INDEX": "ftp://host"}, {"ADWATCH_INDEX": "opensearch+http://"},
                                       {"ADWATCH_INDEX": "es+http://h:9200", "ADWATCH_INDEX_BATCH_SIZE": 0},
                                       {"ADWATCH_INDEX": "es+http://h:9200", "ADWATCH_INDEX_PREFIX": "Ad Watch"}],
                         ids=["scheme", "no-host", "batch-size", "prefix"])
def test_unworkable_settings_are_rejected_at_start_up(overrides: dict) -> None:
    with pytest.raises(IndexConfigError, match="ADWATCH_INDEX"):
        IndexPipeline.from_crawler(crawler_for(overrides))


def test_items_are_indexed_in_batches_and_counted(engine_node: EngineNode, tmp_path: Path) -> None:
    prefix = unique_prefix("pipe")
    crawler = crawler_for(engine_settings(engine_node, tmp_path, prefix, ADWATCH_INDEX_BATCH_SIZE=3))
    pipeline = IndexPipeline.from_crawler(crawler)
    pipeline.open_spider()
    for item in catalogue():
        assert pipeline.process_item(item) is item
    # first batch: 5 hit and 3 ad documents
    assert crawler.stats.get_value(f"index/{engine_node.kind}/written") == 5 + 3
    pipeline.close_spider()
    index = EngineIndex(engine_node.client(), prefix=prefix)
    index.refresh()
    assert index.counts() == {"ads": 4, "hits": 5}
    assert crawler.stats.get_value(f"index/{engine_node.kind}/backlog") == 0
    drop(index)


def test_a_real_crawl_is_indexed_as_it_is_stored(engine_node: EngineNode, web: SandboxWeb,
                                                 tmp_path: Path) -> None:
    prefix = unique_prefix("crawl")
    env = {k: str(v) for k, v in engine_settings(engine_node, tmp_path, prefix).items()}
    env.update(ADWATCH_EVIDENCE_ENABLED="false", ADWATCH_RENDER_ENABLED="false")  # stages this test is not about
    run = run_adwatch(["crawl", "hospital", *base_url_args(web, ("hospital",))], tmp_path, extra_env=env)
    assert run.returncode == 0, run.stderr
    index = EngineIndex(engine_node.client(), prefix=prefix)
    index.refresh()
    with SqliteStore(run.db_path) as store:
        expected = sorted(hit["hit_id"] for hit in store.search_hits(HitQuery(size=10_000)).hits)
        assert index.counts() == {"ads": store.counts()["ads"], "hits": store.counts()["hits"]}
    assert expected and sorted(index.search_hits(HitQuery(size=10_000)).ids) == expected
    drop(index)

"""The engine stops in the middle of indexing a real crawl and comes back: every hit ends up indexed exactly once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from crawler.pipelines.index import IndexPipeline
from indexer.backend import HitQuery
from indexer.engine import EngineIndex
from indexer.journal import Journal
from indexer.sqlite import SqliteStore
from tests.conftest import CrawlRun
from tests.indexer.conftest import drop, unique_prefix
from tests.indexer.test_pipeline_index import crawler_for, engine_settings
from tests.support.engines import EngineNode


def all_hit_ids(index: EngineIndex) -> list[str]:
    """Every hit document's id, old versions included; duplicates (e.g. in two monthly indices) stay visible."""
    index.refresh()
    return index.search_hits(HitQuery(size=10_000, current_only=False)).ids


def test_an_engine_outage_mid_crawl_loses_and_duplicates_nothing(engine_node: EngineNode, crawled: CrawlRun,
                                                                 tmp_path: Path) -> None:
    with SqliteStore(crawled.db_path) as store:
        items = list(store.iter_items())
        expected = sorted(hit["hit_id"] for hit in store.search_hits(HitQuery(size=10_000, current_only=False)).hits)
    prefix = unique_prefix("outage")
    crawler = crawler_for(engine_settings(engine_node, tmp_path, prefix, ADWATCH_INDEX_BATCH_SIZE=40,
                                          ADWATCH_INDEX_RETRY_INTERVAL=0))
    pipeline = IndexPipeline.from_crawler(crawler)
    pipeline.open_spider()
    third = len(items) // 3
    for item in items[:third]:
        pipeline.process_item(item)
    engine_node.stop()
    for item in items[third:2 * third]:
        pipeline.process_item(item)
    backlog = Journal(tmp_path / "index-journal.db").backlog()["pending"]
    engine_node.start()
    for item in items[2 * third:]:
        pipeline.process_item(item)
    pipeline.close_spider()

    index = EngineIndex(engine_node.client(), prefix=prefix)
    ids = all_hit_ids(index)
    assert len(items) > 300 and backlog > 0
    assert [hit for hit, seen in Counter(ids).items() if seen > 1] == []
    assert sorted(ids) == expected
    assert index.counts()["ads"] == len({item.canonical_url for item in items})
    assert Journal(tmp_path / "index-journal.db").backlog()["pending"] == 0
    stats = crawler.stats.get_stats()
    assert stats[f"index/{engine_node.kind}/queued"] >= backlog
    assert stats[f"index/{engine_node.kind}/replayed"] >= backlog
    drop(index)

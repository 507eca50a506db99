"""The write ledger: the indexer writes without reading first, and the ledger never runs ahead of the index."""

from __future__ import annotations

from pathlib import Path

from indexer import bodies
from indexer.backend import HitQuery
from indexer.documents import ad_key
from indexer.engine import EngineIndex
from indexer.ledger import Ledger
from tests.indexer.conftest import drop, engine_index
from tests.indexer.items import catalogue, drug_ad
from tests.support.engines import EngineNode

DRUG_URL = "http://mall.test/item/1.html"


def new_version() -> list:
    return [drug_ad(body="本品根治糖尿病，立即见效", hits=[("立即见效", "ad16-instant", "广告法第十六条")],
                    fetched_at="2026-12-01T08:00:00+00:00")]


def realtime_gets(index: EngineIndex) -> int:
    """``_mget`` and ``GET _doc`` requests the node has answered since it started (its REST usage counters)."""
    usage = index.client.request("GET", "/_nodes/usage")
    return sum(node["rest_actions"].get(action, 0) for node in usage["nodes"].values()
               for action in ("document_mget_action", "document_get_action"))


def current_matches(index: EngineIndex) -> list[str]:
    index.refresh()
    return sorted(h["matched"] for h in index.search_hits(HitQuery(canonical_urls=(DRUG_URL,), size=50)).hits)


def test_with_the_ledger_the_indexer_writes_without_reading(engine_backend: EngineIndex) -> None:
    before = realtime_gets(engine_backend)
    engine_backend.index_items(catalogue())
    engine_backend.index_items(new_version())
    engine_backend.index_items(catalogue())  # unchanged content again: only last_seen moves
    assert realtime_gets(engine_backend) == before
    assert current_matches(engine_backend) == ["无效退款", "有效率98%"]


def test_without_a_ledger_the_indexer_asks_the_engine(engine_node: EngineNode) -> None:
    index = engine_index(engine_node.client())
    index.init()
    try:
        before = realtime_gets(index)
        index.index_items(catalogue())
        assert realtime_gets(index) > before
    finally:
        drop(index)
        index.close()


def test_the_ledger_holds_what_the_engine_holds(engine_backend: EngineIndex) -> None:
    engine_backend.index_items(catalogue())
    engine_backend.index_items(new_version())
    keys = [ad_key(item.canonical_url) for item in catalogue()]
    recorded = engine_backend.ledger.states(engine_backend._ledger_uuid, keys)
    for key in keys:
        held = engine_backend.client.request("GET", f"/{engine_backend.names.ads_index}/_doc/{key}")["_source"]
        assert recorded[key] == {name: held[name] for name in bodies.PREVIOUS_AD_FIELDS}
    assert [v["fetched_at"] for v in recorded[ad_key(DRUG_URL)]["versions"]] == [
        "2026-11-11T08:00:00+00:00", "2026-12-01T08:00:00+00:00"]


def test_a_ledger_started_on_an_existing_index_reads_it_once(engine_node: EngineNode, tmp_path: Path) -> None:
    without = engine_index(engine_node.client())
    without.init()
    without.index_items(catalogue())
    ledger = Ledger(tmp_path / "index-ledger.db")
    late = engine_index(engine_node.client(), prefix=without.names.prefix, ledger=ledger)
    try:
        late.init()
        keys = [ad_key(item.canonical_url) for item in catalogue()]
        assert sorted(ledger.states(late._ledger_uuid, keys)) == sorted(keys)
        before = realtime_gets(late)
        late.index_items(new_version())
        assert realtime_gets(late) == before
        assert current_matches(late) == ["立即见效"]
    finally:
        drop(late)
        late.close()
        without.close()


def test_an_index_created_again_starts_a_new_ledger(engine_backend: EngineIndex) -> None:
    engine_backend.index_items(catalogue())
    old_uuid = engine_backend._ledger_uuid
    drop(engine_backend)
    again = EngineIndex(engine_backend.client, prefix=engine_backend.names.prefix, replicas=0,
                        ledger=engine_backend.ledger)
    again.init()
    assert again._ledger_uuid != old_uuid
    assert again.ledger.states(again._ledger_uuid, [ad_key(DRUG_URL)]) == {}
    assert not again.ledger.is_complete(old_uuid)
    again.index_items(new_version())
    assert current_matches(again) == ["立即见效"]


def test_a_ledger_that_cannot_be_written_gives_way_to_the_engine(engine_backend: EngineIndex) -> None:
    engine_backend.index_items(catalogue())
    uuid = engine_backend._ledger_uuid
    engine_backend.ledger.conn.execute("DROP TABLE ads")  # the file damaged under a running crawl
    engine_backend.index_items(new_version())
    assert not engine_backend.ledger.is_complete(uuid)
    engine_backend.index_items(catalogue())  # back to the first content: known from the engine, not the ledger
    assert current_matches(engine_backend) == ["无效退款", "有效率98%"]


def test_a_ledger_another_process_started_is_not_overwritten_by_an_older_read(tmp_path: Path) -> None:
    first, second = Ledger(tmp_path / "index-ledger.db"), Ledger(tmp_path / "index-ledger.db")
    second_read = [("ad", {"content_hash": "old"})]  # read from the index before the first process wrote
    first.start("uuid-1", "adwatch-ads-v3", [("ad", {"content_hash": "old"})])
    first.record("uuid-1", [("ad", {"content_hash": "new"})])
    second.start("uuid-1", "adwatch-ads-v3", second_read)
    assert second.states("uuid-1", ["ad"]) == {"ad": {"content_hash": "new"}}
    first.close()
    second.close()

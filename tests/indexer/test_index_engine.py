"""What only the search engine does: rejections, highlighting, monthly indices, versions behind aliases, rebuilds."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer import bodies
from indexer.backend import HitQuery, Review
from indexer.documents import ad_key
from indexer.engine import EngineIndex
from indexer.highlight import MARK_END, MARK_START
from indexer.lifecycle import rebuild
from indexer.sqlite import SqliteStore
from tests.indexer.conftest import drop, engine_index
from tests.indexer.items import catalogue, drug_ad
from tests.support.engines import EngineNode


def oversized_seller(item):
    item.seller = "药" * 12000  # 36 000 bytes: more than a keyword term may hold
    return item


def risk_as_text(item):
    item.risk = "很高"
    return item


@pytest.mark.parametrize(("spoil", "reason"), [(oversized_seller, "immense term"),
                                               (risk_as_text, "failed to parse field [risk]")],
                         ids=["oversized-field", "mapping-conflict"])
def test_a_rejected_document_is_reported_with_the_reason_and_blocks_nothing(engine_backend: EngineIndex, spoil,
                                                                           reason: str) -> None:
    items = catalogue()
    items[1] = spoil(items[1])
    result = engine_backend.index_items(items)
    engine_backend.refresh()
    assert result.deferred == []
    assert {r.doc_id for r in result.rejected} >= {h["hit_id"] for h in _hits_of(items[1])}
    assert all(reason in r.reason for r in result.rejected)
    assert engine_backend.counts()["hits"] == 5 - len(items[1].hits)
    assert engine_backend.search_hits(HitQuery(sites=("hospital",))).total == 1


def _hits_of(item):
    from indexer.documents import ItemText, hit_documents

    return hit_documents(item, ItemText.of(item))


def test_highlights_mark_the_query_words_in_the_raw_text(engine_backend: EngineIndex) -> None:
    engine_backend.index_items(catalogue())
    engine_backend.refresh()
    [hit] = engine_backend.search_hits(HitQuery(text="治愈率 糖尿病")).hits
    assert any(f"{MARK_START}糖尿病{MARK_END}" in fragment and f"{MARK_START}治愈率{MARK_END}" in fragment
               for fragment in hit["highlight"])
    assert not any("<em>" in fragment or "</em>" in fragment for fragment in hit["highlight"])
    body = bodies.hit_search(HitQuery(text="糖尿病"))
    assert "highlight" not in body and "text" in body["_source"]["includes"]


def test_hits_go_to_monthly_indices_behind_one_alias(engine_backend: EngineIndex) -> None:
    engine_backend.index_items([*catalogue(), drug_ad(body="新品上市", hits=[("新品", "x-new", "广告法第三条")],
                                                        fetched_at="2026-12-03T00:00:00+00:00")])
    engine_backend.refresh()
    prefix, version = engine_backend.names.prefix, engine_backend.names.version
    indices = {row["index"]: row for row in engine_backend.status()["indices"]}
    assert set(indices) == {f"{prefix}-ads-v{version}", f"{prefix}-hits-v{version}-2026.11",
                            f"{prefix}-hits-v{version}-2026.12"}
    assert indices[f"{prefix}-hits-v{version}-2026.12"]["aliases"] == [f"{prefix}-hits"]
    assert engine_backend.search_hits(HitQuery(current_only=False)).total == 6


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    with SqliteStore(tmp_path / "adwatch.db") as store:
        store.save_items(catalogue())
        [target] = [h["id"] for h in store.current_hits(sites=["hospital"])]
        store.set_review(target, Review("confirmed", "王审核", "属实", "2026-11-13T09:00:00+00:00"))
        yield store


def test_a_mapping_change_is_rebuilt_behind_the_aliases_without_downtime(engine_node: EngineNode,
                                                                         store: SqliteStore) -> None:
    client = engine_node.client()
    old = engine_index(client, version=1)
    new = engine_index(client, prefix=old.names.prefix, version=2)
    try:
        assert rebuild(old, store.iter_items()).version == 1
        new.init()
        assert (new.live_version(), new.search_hits(HitQuery()).total) == (1, 5)
        report = rebuild(new, store.iter_items(), drop_old=True)
        assert (report.previous_version, report.version, new.live_version()) == (1, 2, 2)
        assert new.search_hits(HitQuery(statuses=("confirmed",))).total == 1
        assert {row["index"] for row in new.status()["indices"]} == {
            f"{new.names.prefix}-ads-v2", f"{new.names.prefix}-hits-v2-2026.11"}
        new.index_items([drug_ad(body="新品", hits=[("新品", "x-new", "广告法第三条")], fetched_at="2027-01-02")])
        new.refresh()
        assert new.search_hits(HitQuery(sites=("mall",))).total == 3
    finally:
        drop(new)
        client.close()


def test_a_backend_is_rebuilt_from_another_engine(engine_node: EngineNode, store: SqliteStore,
                                                  tmp_path: Path) -> None:
    client = engine_node.client()
    source, target = engine_index(client), engine_index(client)
    try:
        rebuild(source, store.iter_items())
        rebuild(target, source.iter_items())
        with SqliteStore(tmp_path / "copy.db") as copy:
            rebuild(copy, source.iter_items())
            for backend in (target, copy):
                assert sorted(backend.search_hits(HitQuery(size=50)).ids) == sorted(
                    store.search_hits(HitQuery(size=50)).ids)
                assert backend.search_hits(HitQuery(statuses=("confirmed",))).hits[0]["reviewer"] == "王审核"
    finally:
        drop(source)
        drop(target)
        client.close()


def test_bulk_requests_are_cut_by_size_not_count(engine_backend: EngineIndex) -> None:
    lines = [b"a" * 40, b"b" * 40, "长".encode() * 20, b"c" * 100, b"d"]
    engine_backend.bulk_bytes = 100
    assert list(engine_backend._chunks(list(range(5)), lines)) == [[0, 1], [2], [3], [4]]
    engine_backend.bulk_bytes = 3_000  # a request or two per ad: every document still lands
    engine_backend.index_items(catalogue())
    engine_backend.refresh()
    assert engine_backend.counts() == {"ads": 4, "hits": 5}


def test_writes_of_one_ad_stay_in_order_with_two_groups_in_flight(engine_backend: EngineIndex) -> None:
    engine_backend.sub_batch, engine_backend.in_flight = 1, 2
    versions = [drug_ad(body=f"本品根治糖尿病，第{n}版，有效率98%，无效退款", fetched_at=f"2026-11-1{n}T08:00:00+00:00")
                for n in range(1, 6)]
    result = engine_backend.index_items([*catalogue()[1:], *versions])
    engine_backend.refresh()
    assert not result.deferred and not result.rejected
    key = ad_key(versions[0].canonical_url)
    current = engine_backend.client.request("GET", f"/{engine_backend.names.ads_index}/_doc/{key}")["_source"]
    assert (current["content_hash"], current["version_count"]) == (versions[-1].content_hash, 5)
    latest = engine_backend.search_hits(HitQuery(sites=("mall",), size=50)).hits
    assert {hit["content_hash"] for hit in latest if hit["canonical_url"] == versions[0].canonical_url} == {
        versions[-1].content_hash}


def test_a_rebuild_writes_with_refresh_off_and_restores_it(engine_backend: EngineIndex) -> None:
    def refresh_intervals() -> dict[str, str | None]:
        settings = engine_backend.client.request("GET", f"/{engine_backend.names.prefix}-*/_settings")
        return {name: body["settings"]["index"].get("refresh_interval") for name, body in settings.items()}

    with engine_backend.bulk_load():
        engine_backend.index_items(catalogue())
        during = refresh_intervals()
    names = engine_backend.names
    assert during == {names.ads_index: "-1", names.hits_index("2026-11-11"): "-1"}
    assert set(refresh_intervals().values()) == {None}
    assert engine_backend.counts() == {"ads": 4, "hits": 5}  # searchable at once: refreshed on the way out


def test_a_missing_index_is_missing_to_both_clients(engine_node: EngineNode) -> None:
    """The elasticsearch client answers a HEAD of a missing index without raising: it must still read as absent."""
    client = engine_node.client()
    assert client.request("HEAD", "/adwatch-no-such-index", ignore=(404,)) is False
    client.close()

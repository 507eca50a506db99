"""The backend conformance suite: the same behaviour from SQLite, OpenSearch (real node) and Elasticsearch."""

from __future__ import annotations

import pytest

from indexer.backend import AdIndex, HitQuery, Review
from indexer.documents import HIT_FIELDS, ad_key
from indexer.sqlite import hit_id
from tests.indexer.items import catalogue, drug_ad


def indexed(backend: AdIndex, items=None) -> AdIndex:
    result = backend.index_items(catalogue() if items is None else items)
    assert result.deferred == [] and result.rejected == []
    backend.refresh()
    return backend


def search(backend: AdIndex, **query) -> list[str]:
    return backend.search_hits(HitQuery(size=100, **query)).ids


def matched(backend: AdIndex, **query) -> list[str]:
    return sorted(hit["matched"] for hit in backend.search_hits(HitQuery(size=100, **query)).hits)


def test_items_are_indexed_with_one_document_per_ad_and_per_hit(backend: AdIndex) -> None:
    counts = indexed(backend).counts()
    assert (counts["ads"], counts["hits"]) == (4, 5)


def test_hits_carry_what_a_reviewer_needs(backend: AdIndex) -> None:
    item = catalogue()[0]
    [hit] = [h for h in indexed(backend).search_hits(HitQuery(size=100)).hits if h["matched"] == "有效率98%"]
    assert set(HIT_FIELDS) <= set(hit)
    assert hit["hit_id"] == hit_id(item.canonical_url, item.content_hash, "ad16-cure-rate", item.hits[0]["start"])
    assert hit["ad_key"] == ad_key(item.canonical_url)
    assert (hit["site"], hit["article_key"], hit["severity"], hit["category"]) == ("mall", "广告法第十六条", "high",
                                                                                    "drug")
    assert (hit["title"], hit["seller"], hit["day"], hit["raw_ref"]) == ("降糖神药", "某药房", "2026-11-11",
                                                                         "crawl.warc.gz#0")
    assert (hit["current"], hit["review_status"], hit["reviewer"]) == (True, "pending", None)
    assert backend.get_hit(hit["hit_id"])["matched"] == "有效率98%"


def test_hits_come_riskiest_first_then_by_id_and_page(backend: AdIndex) -> None:
    all_ids = search(indexed(backend))
    risks = [backend.get_hit(i)["risk"] for i in all_ids]
    assert risks == sorted(risks, reverse=True)
    assert all_ids[:2] == sorted(all_ids[:2]) and all_ids[3:] == sorted(all_ids[3:])
    page = backend.search_hits(HitQuery(size=2, offset=2))
    assert (page.total, page.ids) == (5, all_ids[2:4])


@pytest.mark.parametrize(("query", "expected"), [
    ({"sites": ("mall",)}, ["国家级", "无效退款", "最好", "有效率98%"]),
    ({"articles": ("广告法第十六条",)}, ["有效率98%", "治愈率高达95%"]),
    ({"severities": ("high",), "sites": ("hospital",)}, ["治愈率高达95%"]),
    ({"rule_ids": ("ad9-best", "ad28-refund")}, ["无效退款", "最好"]),
    ({"categories": ("general",)}, ["国家级", "最好"]),
    ({"day_from": "2026-11-12"}, ["国家级", "最好", "治愈率高达95%"]),
    ({"day_to": "2026-11-11"}, ["无效退款", "有效率98%"]),
    ({"sites": ("news",)}, []),
], ids=["site", "article", "severity+site", "rules", "category", "from-day", "to-day", "no-hits"])
def test_filters(backend: AdIndex, query: dict, expected: list[str]) -> None:
    assert matched(indexed(backend), **query) == sorted(expected)


@pytest.mark.parametrize(("text", "expected"), [
    ("糖尿病", ["无效退款", "有效率98%", "治愈率高达95%"]),
    ("纯棉", ["国家级", "最好"]),
    ("糖尿病 治愈率", ["治愈率高达95%"]),
    ("纯棉T恤", ["国家级", "最好"]),
    ('"有效率98%"', ["无效退款", "有效率98%"]),
    ("不存在的词语", []),
    ("！！", []),
], ids=["word", "other-word", "all-words-required", "mixed-script", "phrase", "absent", "punctuation-only"])
def test_chinese_full_text_is_cut_with_jieba(backend: AdIndex, text: str, expected: list[str]) -> None:
    assert matched(indexed(backend), text=text) == sorted(expected)


def test_aggregations_count_by_article_site_and_day(backend: AdIndex) -> None:
    query = HitQuery(aggregations=("article", "site", "day", "severity"), size=0)
    aggregations = indexed(backend).search_hits(query).aggregations
    assert aggregations["article"] == {"广告法第十六条": 2, "广告法第九条": 2, "广告法第二十八条": 1}
    assert aggregations["site"] == {"mall": 4, "hospital": 1}
    assert aggregations["day"] == {"2026-11-11": 2, "2026-11-12": 3}
    assert aggregations["severity"] == {"high": 2, "medium": 3}


def test_filters_text_and_aggregations_combine(backend: AdIndex) -> None:
    query = HitQuery(text="糖尿病", severities=("high",), aggregations=("site",))
    results = indexed(backend).search_hits(query)
    assert results.total == 2 and results.aggregations["site"] == {"mall": 1, "hospital": 1}


def test_writing_the_same_content_again_writes_no_new_documents(backend: AdIndex) -> None:
    first = search(indexed(backend), current_only=False)
    indexed(backend)
    assert search(backend, current_only=False) == first
    assert backend.counts()["hits"] == 5 and backend.counts()["ads"] == 4


def test_review_decisions_are_kept_and_survive_reindexing(backend: AdIndex) -> None:
    target = search(indexed(backend), text="治愈率")[0]
    assert backend.set_review(target, Review("confirmed", "王审核", "属实，已立案", "2026-11-13T09:00:00+00:00"))
    indexed(backend)
    hit = backend.get_hit(target)
    assert (hit["review_status"], hit["reviewer"], hit["review_reason"]) == ("confirmed", "王审核", "属实，已立案")
    assert hit["reviewed_at"].startswith("2026-11-13T09:00:00")
    assert search(backend, statuses=("confirmed",)) == [target]
    assert len(search(backend, statuses=("pending",))) == 4


def test_reviewing_an_unknown_hit_changes_nothing(backend: AdIndex) -> None:
    indexed(backend)
    assert backend.get_hit("0" * 20) is None
    assert backend.set_review("0" * 20, Review("dismissed", "王审核")) is False


def test_a_new_version_of_an_ad_replaces_its_current_hits(backend: AdIndex) -> None:
    indexed(backend)
    changed = drug_ad(body="本品根治糖尿病，立即见效", hits=[("立即见效", "ad16-instant", "广告法第十六条")],
                      fetched_at="2026-12-01T08:00:00+00:00")
    indexed(backend, [changed])
    assert matched(backend, sites=("mall",), articles=("广告法第十六条",)) == ["立即见效"]
    assert matched(backend, sites=("mall",), articles=("广告法第十六条",), current_only=False) == [
        "有效率98%", "立即见效"]
    assert backend.counts() == {**backend.counts(), "ads": 4, "hits": 6}


def test_content_that_changes_back_reuses_its_old_hits(backend: AdIndex) -> None:
    indexed(backend)
    indexed(backend, [drug_ad(body="本品调节血糖", hits=[], fetched_at="2026-12-01T08:00:00+00:00")])
    assert matched(backend, sites=("mall",), rule_ids=("ad16-cure-rate", "ad28-refund")) == []
    indexed(backend, [drug_ad(fetched_at="2026-12-02T08:00:00+00:00")])
    ids = search(backend, current_only=False)
    assert len(ids) == len(set(ids)) == 5
    assert matched(backend, sites=("mall",), rule_ids=("ad16-cure-rate", "ad28-refund")) == ["无效退款", "有效率98%"]
    assert {backend.get_hit(i)["day"] for i in search(backend, sites=("mall",))} == {"2026-11-11", "2026-11-12"}

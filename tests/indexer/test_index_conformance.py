"""The backend conformance suite: the same behaviour from SQLite, OpenSearch (real node) and Elasticsearch."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from indexer.backend import AD_FIELDS, AdIndex, AdQuery, HitQuery, Review
from indexer.documents import HIT_FIELDS, ad_key
from indexer.highlight import MARK_END, MARK_START, strip_marks
from indexer.lifecycle import rebuild
from indexer.sqlite import SqliteStore, hit_id
from tests.indexer.items import ad, catalogue, drug_ad

DRUG_URL, SHIRT_URL = "http://mall.test/item/1.html", "http://mall.test/item/2.html"
HOSPITAL_URL, NEWS_URL = "http://hospital.test/doc/3.html", "http://news.test/a/4.html"
_MARKED = re.compile(f"{MARK_START}([^{MARK_START}{MARK_END}]*){MARK_END}")


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
    ({"canonical_urls": (SHIRT_URL,)}, ["国家级", "最好"]),
    ({"canonical_urls": (HOSPITAL_URL, NEWS_URL)}, ["治愈率高达95%"]),
    ({"sellers": ("某医院", "某商家")}, ["国家级", "最好", "治愈率高达95%"]),
    ({"sellers": ("某药房",), "severities": ("medium",)}, ["无效退款"]),
    ({"sellers": ("无名氏",)}, []),
], ids=["site", "article", "severity+site", "rules", "category", "from-day", "to-day", "no-hits", "ad", "ads",
        "sellers", "seller+severity", "unknown-seller"])
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
def test_chinese_full_text_finds_the_terms_where_they_stand(backend: AdIndex, text: str, expected: list[str]) -> None:
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


def test_hits_are_filtered_by_id(backend: AdIndex) -> None:
    all_ids = search(indexed(backend))
    chosen = (all_ids[3], all_ids[0])
    assert search(backend, hit_ids=chosen) == [all_ids[0], all_ids[3]]
    assert search(backend, hit_ids=chosen, sites=("hospital",)) == [i for i in chosen if
                                                                      backend.get_hit(i)["site"] == "hospital"]
    assert search(backend, hit_ids=("0" * 20,)) == []


def test_the_hits_of_one_ad_include_its_older_versions_on_request(backend: AdIndex) -> None:
    indexed(backend)
    indexed(backend, [drug_ad(body="本品根治糖尿病，立即见效", hits=[("立即见效", "ad16-instant", "广告法第十六条")],
                              fetched_at="2026-12-01T08:00:00+00:00")])
    assert matched(backend, canonical_urls=(DRUG_URL,)) == ["立即见效"]
    assert matched(backend, canonical_urls=(DRUG_URL,), current_only=False) == ["无效退款", "有效率98%", "立即见效"]


def test_transferred_is_a_review_status_that_survives_a_rebuild(backend: AdIndex, tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "source.db") as source:
        source.save_items(catalogue())
        [target] = source.search_hits(HitQuery(sites=("hospital",))).ids
        source.set_review(target, Review("transferred", "李科长", "移送稽查 JC-2026-001", "2026-11-14T09:00:00+00:00"))
        rebuild(backend, source.iter_items())
    backend.refresh()
    hit = backend.get_hit(target)
    assert (hit["review_status"], hit["reviewer"], hit["review_reason"]) == ("transferred", "李科长",
                                                                             "移送稽查 JC-2026-001")
    assert search(backend, statuses=("transferred",)) == [target]
    other = search(backend, sites=("mall",))[0]
    assert backend.set_review(other, Review("transferred", "李科长"))
    backend.refresh()
    assert sorted(search(backend, statuses=("transferred",))) == sorted([target, other])
    statuses = backend.search_hits(HitQuery(aggregations=("status",), size=0)).aggregations["status"]
    assert statuses == {"pending": 3, "transferred": 2}


def marked_words(fragments: list[str]) -> list[str]:
    """The marked words of each fragment, in order; fails on a stray or unbalanced marker."""
    for fragment in fragments:
        assert MARK_START not in _MARKED.sub("", fragment) and MARK_END not in _MARKED.sub("", fragment)
    return [word for fragment in fragments for word in _MARKED.findall(fragment)]


def test_text_search_marks_the_query_words_in_each_hit(backend: AdIndex) -> None:
    [hit] = indexed(backend).search_hits(HitQuery(text="治愈率 糖尿病")).hits
    assert any(f"{MARK_START}治愈率{MARK_END}" in fragment and f"{MARK_START}糖尿病{MARK_END}" in fragment
               for fragment in hit["highlight"])
    assert set(marked_words(hit["highlight"])) == {"治愈率", "糖尿病"}
    phrase_hits = backend.search_hits(HitQuery(text='"有效率98%"')).hits
    assert len(phrase_hits) == 2
    assert all(any(f"{MARK_START}有效率98" in fragment for fragment in h["highlight"]) for h in phrase_hits)
    assert all("highlight" not in h for h in backend.search_hits(HitQuery()).hits)


def hostile_ad():
    """An ad whose crawled text carries markup of its own, highlight tags included."""
    body = '<script>alert("糖尿病")</script>根治糖尿病</em><em>特效药'
    return ad("http://mall.test/item/9.html", "mall", "<b>特效</b>药", body,
              [("根治糖尿病", "ad16-cure", "广告法第十六条")], "2026-11-13T08:00:00+00:00", 0.7)


def test_highlights_add_only_markers_to_hostile_text(backend: AdIndex) -> None:
    item = hostile_ad()
    indexed(backend, [*catalogue(), item])
    [hit] = backend.search_hits(HitQuery(text="糖尿病", canonical_urls=(item.canonical_url,))).hits
    assert hit["highlight"] and all(strip_marks(fragment) in item.document() for fragment in hit["highlight"])
    assert set(marked_words(hit["highlight"])) == {"糖尿病"}
    [found] = backend.search_ads(AdQuery(text="特效药")).ads
    assert all(strip_marks(fragment) in item.document() for fragment in found["highlight"])
    assert set(marked_words(found["highlight"])) == {"特效药"}


def test_ad_search_finds_an_ad_without_hits(backend: AdIndex) -> None:
    results = indexed(backend).search_ads(AdQuery(text="天气"))
    assert results.total == 1
    [found] = results.ads
    assert set(found) == set(AD_FIELDS)
    assert (found["ad_key"], found["canonical_url"], found["url"], found["site"], found["title"], found["seller"]) == (
        ad_key(NEWS_URL), NEWS_URL, NEWS_URL, "news", "今日新闻", "")
    assert (found["hit_count"], found["risk"], found["categories"]) == (0, 0.0, [])
    assert found["fetched_at"].startswith("2026-11-12T11:00:00")
    assert any(f"{MARK_START}天气{MARK_END}" in fragment for fragment in found["highlight"])


def test_ad_search_looks_at_the_current_version_of_each_ad(backend: AdIndex) -> None:
    results = indexed(backend).search_ads(AdQuery(text="糖尿病"))
    assert results.total == 2
    assert {found["canonical_url"]: found["hit_count"] for found in results.ads} == {DRUG_URL: 2, HOSPITAL_URL: 1}
    drug = next(found for found in results.ads if found["canonical_url"] == DRUG_URL)
    assert (drug["title"], drug["seller"], drug["risk"]) == ("降糖神药", "某药房", 0.9)
    indexed(backend, [drug_ad(body="本品调节血糖", hits=[], fetched_at="2026-12-01T08:00:00+00:00")])
    assert [found["canonical_url"] for found in backend.search_ads(AdQuery(text="糖尿病")).ads] == [HOSPITAL_URL]
    [changed] = backend.search_ads(AdQuery(text="调节血糖")).ads
    assert (changed["canonical_url"], changed["hit_count"]) == (DRUG_URL, 0)
    assert changed["fetched_at"].startswith("2026-12-01T08:00:00")


def test_ad_search_puts_the_best_match_first_and_pages(backend: AdIndex) -> None:
    clinic = ad("http://clinic.test/5.html", "clinic", "糖尿病专科", "糖尿病，糖尿病，专治糖尿病", [],
                "2026-11-13T08:00:00+00:00", 0.1)
    everything = indexed(backend, [*catalogue(), clinic]).search_ads(AdQuery(text="糖尿病", size=10))
    assert everything.total == 3 and len(everything.ads) == 3
    assert everything.ads[0]["canonical_url"] == clinic.canonical_url
    pages = [backend.search_ads(AdQuery(text="糖尿病", size=1, offset=offset)) for offset in range(4)]
    assert [page.total for page in pages] == [3, 3, 3, 3]
    assert [found["ad_key"] for page in pages for found in page.ads] == [found["ad_key"] for found in everything.ads]
    assert pages[3].ads == []
    two = backend.search_ads(AdQuery(text="糖尿病", size=2, offset=1))
    assert [found["ad_key"] for found in two.ads] == [found["ad_key"] for found in everything.ads[1:]]


def test_ad_search_takes_a_quoted_phrase_as_raw_text(backend: AdIndex) -> None:
    results = indexed(backend).search_ads(AdQuery(text='"有效率98%"'))
    assert results.total == 1 and [found["canonical_url"] for found in results.ads] == [DRUG_URL]
    assert any(f"{MARK_START}有效率98" in fragment for fragment in results.ads[0]["highlight"])
    assert backend.search_ads(AdQuery(text='"糖尿病 治愈率"')).total == 0


@pytest.mark.parametrize("text", ["", "  ", "！！", "不存在的词语", "糖尿病 天气"],
                         ids=["empty", "blank", "punctuation-only", "absent", "words-in-different-ads"])
def test_ad_search_without_a_match_finds_nothing(backend: AdIndex, text: str) -> None:
    results = indexed(backend).search_ads(AdQuery(text=text))
    assert (results.total, results.ads) == (0, [])


def test_days_are_beijing_dates_so_double_eleven_starts_at_its_midnight(backend: AdIndex) -> None:
    before, after = drug_ad(fetched_at="2026-11-10T15:59:00+00:00"), drug_ad(fetched_at="2026-11-10T16:00:00+00:00")
    after.canonical_url = after.url = "http://mall.test/item/1111.html"
    backend.index_items([before, after])
    backend.refresh()
    days = {hit["canonical_url"]: hit["day"] for hit in backend.search_hits(HitQuery(size=100)).hits}
    assert days == {before.canonical_url: "2026-11-10", after.canonical_url: "2026-11-11"}
    on_the_day = backend.search_hits(HitQuery(day_from="2026-11-11", day_to="2026-11-11", aggregations=("day",)))
    assert {hit["canonical_url"] for hit in on_the_day.hits} == {after.canonical_url}
    assert on_the_day.aggregations["day"] == {"2026-11-11": on_the_day.total}

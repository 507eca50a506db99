"""The search language and the ad search (issue #16, item 3): the same answers from SQLite, OpenSearch and
Elasticsearch (real nodes; the ``backend`` fixture runs each).

A term is found wherever its characters stand together in the folded text (traditional → simplified,
full-width → half-width, upper → lower case): single characters and two-character words inside longer jieba
words too.  Terms are all required; ``OR`` offers alternatives; ``-term`` and ``NOT term`` exclude; a quoted
phrase may hold spaces.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from indexer.backend import AdIndex, AdQuery, HitQuery, Review
from indexer.highlight import MARK_END, MARK_START
from indexer.query import SearchText, parse
from indexer.sqlite import SqliteStore
from tests.indexer.items import ad, catalogue

DRUG, SHIRT = "http://mall.test/item/1.html", "http://mall.test/item/2.html"
HOSPITAL, NEWS = "http://hospital.test/doc/3.html", "http://news.test/a/4.html"
TAIWAN, CLINIC = "http://tw.test/5.html", "http://clinic.test/6.html"


def _with_categories(item, categories: list[str]):
    item.categories = categories
    return item


def search_catalogue() -> list:
    """The conformance catalogue, categorised, plus an ad in traditional characters and one fetched on 双十一 eve."""
    drug, shirt, hospital, news = catalogue()
    return [
        _with_categories(drug, ["drug"]), _with_categories(shirt, ["general"]),
        _with_categories(hospital, ["medical"]), news,
        _with_categories(ad(TAIWAN, "tw", "限時優惠", "本院治癒率高，限時優惠 最佳選擇，ＶＩＰ專線", [],
                            "2026-11-13T02:00:00+00:00", 0.6), ["medical"]),
        _with_categories(ad(CLINIC, "clinic", "诊所公告", "门诊时间调整，欢迎来电", [],
                            "2026-11-10T16:30:00+00:00", 0.2), ["medical"]),
    ]


def indexed(backend: AdIndex) -> AdIndex:
    result = backend.index_items(search_catalogue())
    assert result.deferred == [] and result.rejected == []
    backend.refresh()
    return backend


def found(backend: AdIndex, **query) -> set[str]:
    return {ad["canonical_url"] for ad in backend.search_ads(AdQuery(size=100, **query)).ads}


@pytest.mark.parametrize(("query", "expected"), [
    ("纯 色", SearchText((("纯",), ("色",)))),
    ("糖尿病 OR 高血压 根治", SearchText((("糖尿病", "高血压"), ("根治",)))),
    ("减肥 -治愈", SearchText((("减肥",),), ("治愈",))),
    ("减肥 NOT 治癒", SearchText((("减肥",),), ("治愈",))),
    ('"有效率 98%" -"OR 最"', SearchText((("有效率 98%",),), ("or 最",))),
    ("ＶＩＰ專線 AND 最", SearchText((("vip专线",), ("最",)))),
    ("！！ - OR", SearchText()),
], ids=["terms", "or", "minus", "not-folded", "phrases", "fold-and", "nothing-to-look-for"])
def test_a_query_parses_into_required_groups_and_exclusions(query: str, expected: SearchText) -> None:
    assert parse(query) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("最", {SHIRT, TAIWAN}),
    ("佳", {TAIWAN}),
    ("糖尿", {DRUG, HOSPITAL}),
    ("愈", {HOSPITAL, TAIWAN}),
    ("治愈", {HOSPITAL, TAIWAN}),
    ("治癒", {HOSPITAL, TAIWAN}),
    ("最佳选择", {TAIWAN}),
    ("vip专线", {TAIWAN}),
    ("纯棉T恤", {SHIRT}),
    ("糖尿病 治愈率", {HOSPITAL}),
    ("天气 OR 纯棉", {NEWS, SHIRT}),
    ("天气 OR 纯棉 OR 门诊", {NEWS, SHIRT, CLINIC}),
    ("糖尿病 -治愈", {DRUG}),
    ("糖尿病 NOT 治愈", {DRUG}),
    ("糖尿病 OR 天气 -根治", {HOSPITAL, NEWS}),
    ('"有效率98%"', {DRUG}),
    ('"优惠 最佳"', {TAIWAN}),
    ('"优惠最佳"', set()),
    ("有效率98%", {DRUG}),
    ("不存在", set()),
    ("！！", set()),
], ids=["one-char", "one-char-inside-a-word", "two-chars-inside-a-word", "one-char-traditional-too", "simplified",
        "traditional", "traditional-text", "full-width", "mixed-script", "all-terms", "or", "or-three", "minus",
        "not", "or-and-not", "phrase", "phrase-with-space", "phrase-is-exact", "term-with-percent", "absent",
        "punctuation-only"])
def test_ad_search_finds_every_ad_holding_the_terms(backend: AdIndex, text: str, expected: set[str]) -> None:
    results = indexed(backend).search_ads(AdQuery(text=text, size=100))
    assert {ad["canonical_url"] for ad in results.ads} == expected
    assert results.total == len(expected)


def test_hit_search_speaks_the_same_language(backend: AdIndex) -> None:
    indexed(backend)
    assert {hit["matched"] for hit in backend.search_hits(HitQuery(text="最", size=100)).hits} == {"国家级", "最好"}
    assert {hit["matched"] for hit in backend.search_hits(HitQuery(text="治癒 OR 天气")).hits} == {"治愈率高达95%"}
    assert {hit["matched"] for hit in backend.search_hits(HitQuery(text="-纯棉", sites=("mall",))).hits} == {
        "有效率98%", "无效退款"}


def test_the_terms_are_marked_where_the_text_holds_them_folded(backend: AdIndex) -> None:
    [taiwan] = indexed(backend).search_ads(AdQuery(text="治愈 OR 不存在 -糖尿病 vip")).ads
    marked = "".join(taiwan["highlight"])
    assert f"{MARK_START}治癒{MARK_END}" in marked and f"{MARK_START}ＶＩＰ{MARK_END}" in marked
    [shirt] = backend.search_ads(AdQuery(text="最", sites=("mall",))).ads
    assert f"{MARK_START}最{MARK_END}好" in "".join(shirt["highlight"])


@pytest.mark.parametrize(("query", "expected"), [
    ({"sites": ("mall",)}, {DRUG, SHIRT}),
    ({"sites": ("tw", "clinic")}, {TAIWAN, CLINIC}),
    ({"categories": ("medical",)}, {HOSPITAL, TAIWAN, CLINIC}),
    ({"categories": ("drug", "general")}, {DRUG, SHIRT}),
    ({"articles": ("广告法第九条",)}, {SHIRT}),
    ({"articles": ("广告法第十六条",)}, {DRUG, HOSPITAL}),
    ({"day_from": "2026-11-12"}, {SHIRT, HOSPITAL, NEWS, TAIWAN}),
    ({"day_to": "2026-11-11"}, {DRUG, CLINIC}),
    ({"day_from": "2026-11-11", "day_to": "2026-11-11"}, {DRUG, CLINIC}),
    ({"day_from": "2026-11-13", "day_to": "2026-11-13"}, {TAIWAN}),
    ({"statuses": ("pending",)}, {DRUG, SHIRT, HOSPITAL}),
    ({"text": "治愈", "categories": ("medical",), "sites": ("tw",)}, {TAIWAN}),
    ({"text": "-治愈", "categories": ("medical",)}, {CLINIC}),
    ({"text": "最 OR 糖尿病", "day_from": "2026-11-12"}, {SHIRT, HOSPITAL, TAIWAN}),
    ({"text": "！！", "sites": ("mall",)}, set()),
    ({"sites": ("nowhere",)}, set()),
], ids=["site", "sites", "category", "categories", "article", "other-article", "from-day", "to-day",
        "double-eleven-in-beijing", "one-day", "review-state", "text+category+site", "not+category",
        "or+from-day", "nothing-to-look-for+site", "unknown-site"])
def test_ad_search_filters(backend: AdIndex, query: dict, expected: set[str]) -> None:
    assert found(indexed(backend), **query) == expected


def test_the_review_state_filter_follows_decisions(backend: AdIndex) -> None:
    indexed(backend)
    hit = backend.search_hits(HitQuery(sites=("hospital",))).hits[0]
    assert backend.set_review(hit["hit_id"], Review("confirmed", "王审核"))
    backend.refresh()
    assert found(backend, statuses=("confirmed",)) == {HOSPITAL}
    assert found(backend, statuses=("pending",)) == {DRUG, SHIRT}
    assert found(backend, text="糖尿病", statuses=("confirmed", "dismissed")) == {HOSPITAL}
    assert found(backend, statuses=("transferred",)) == set()


def test_nothing_asked_finds_nothing(backend: AdIndex) -> None:
    assert indexed(backend).search_ads(AdQuery()).total == 0
    assert backend.search_ads(AdQuery(text="   ")).total == 0


@pytest.mark.parametrize(("sort", "expected"), [
    ("time", [TAIWAN, NEWS, HOSPITAL, SHIRT, DRUG, CLINIC]),
    ("risk", [DRUG, HOSPITAL, TAIWAN, SHIRT, CLINIC, NEWS]),
], ids=["newest-first", "riskiest-first"])
def test_ad_search_sorts_by_time_or_risk_and_pages(backend: AdIndex, sort: str, expected: list[str]) -> None:
    query = AdQuery(categories=("drug", "general", "medical"), text="-不存在", sort=sort, size=100)
    everything = indexed(backend).search_ads(query)
    with_news = backend.search_ads(AdQuery(text="-不存在", sort=sort, size=100))
    assert [ad["canonical_url"] for ad in with_news.ads] == expected
    assert [ad["canonical_url"] for ad in everything.ads] == [url for url in expected if url != NEWS]
    pages = [backend.search_ads(AdQuery(text="-不存在", sort=sort, size=4, offset=offset)) for offset in (0, 4)]
    assert [ad["canonical_url"] for page in pages for ad in page.ads] == expected
    assert [page.total for page in pages] == [6, 6]


def test_relevance_puts_the_ad_most_about_the_terms_first(backend: AdIndex) -> None:
    specialist = ad("http://clinic.test/7.html", "clinic", "糖尿病专科", "糖尿病，糖尿病，专治糖尿病", [],
                    "2026-11-09T08:00:00+00:00", 0.1)
    backend.index_items([*search_catalogue(), specialist])
    backend.refresh()
    results = backend.search_ads(AdQuery(text="糖尿病", sort="relevance"))
    assert results.total == 3 and results.ads[0]["canonical_url"] == specialist.canonical_url


def test_an_existing_store_gets_its_character_index_filled_on_open(tmp_path: Path) -> None:
    """A store from before the character index (no ``ads_grams`` table) keeps working and finds 最 and 治癒."""
    path = tmp_path / "adwatch.db"
    with SqliteStore(path) as store:
        store.save_items(search_catalogue())
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE ads_grams")
        conn.execute("DELETE FROM schema_meta WHERE key = 'grams_version'")
    with SqliteStore(path) as store:
        assert found(store, text="最") == {SHIRT, TAIWAN}
        assert found(store, text="治癒") == {HOSPITAL, TAIWAN}
        assert store.counts()["ads"] == 6

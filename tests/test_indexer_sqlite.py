"""The embedded store: versions on change only, stable hit ids, Chinese full-text search, crash safety."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from scrapy.utils.test import get_crawler

from crawler.items import AdItem
from crawler.pipelines.normalise import NormalisePipeline
from indexer.backend import AdQuery
from indexer.sqlite import SCHEMA, SqliteStore, hit_id

REPO = Path(__file__).resolve().parents[1]

HIT = {
    "rule_id": "ad16-cure-rate",
    "law": "广告法",
    "article": "广告法第十六条第一款第二项",
    "article_key": "广告法第十六条",
    "severity": "high",
    "matched": "有效率98%",
    "start": 8,
    "end": 14,
    "explanation": "医疗广告不得说明治愈率或者有效率",
    "penalty": "《广告法》第五十八条",
    "category": "drug",
}


def ad(
    body: str = "本品根治糖尿病，有效率98%", hits: list[dict] | None = None, url: str = "http://s/item/1.html"
) -> AdItem:
    item = AdItem(
        url=url,
        site="mall",
        canonical_url=url,
        title="降糖神药",
        body=body,
        price_texts=["¥89.90"],
        seller="某药房",
        fetched_at="2026-11-11T00:00:00+00:00",
    )
    item.hits = [HIT] if hits is None else hits
    return NormalisePipeline(get_crawler()).process_item(item)


def test_new_content_is_stored_with_its_hits(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "a.db") as store:
        [outcome] = store.save_items([ad()])
        assert outcome.status == "new"
        assert outcome.hit_ids == (hit_id("http://s/item/1.html", ad().content_hash, "ad16-cure-rate", 8),)
        [row] = store.current_ads()
        assert row["title"] == "降糖神药" and row["prices"] == "[89.9]"
        assert [h["id"] for h in store.current_hits()] == list(outcome.hit_ids)


def test_unchanged_content_is_neither_stored_nor_flagged_twice(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "a.db") as store:
        store.save_items([ad()])
        [again] = store.save_items([ad()])
        assert again.status == "unchanged" and again.hit_ids == ()
        assert store.counts() == {"ads": 1, "versions": 1, "hits": 1, "runs": 0}
        assert store.current_ads()[0]["seen_count"] == 2


def test_changed_content_is_a_new_version_and_old_hits_stay_in_history(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "a.db") as store:
        store.save_items([ad()])
        [changed] = store.save_items([ad(body="本品用于辅助调节血糖，请遵医嘱。", hits=[])])
        assert changed.status == "changed"
        assert store.counts()["versions"] == 2
        assert store.counts()["hits"] == 1
        assert store.current_hits() == []


def test_full_text_search_finds_characters_wherever_they_stand(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "a.db") as store:
        store.save_items([ad(), ad(body="纯棉T恤，舒适透气", hits=[], url="http://s/item/2.html")])

        def urls(text: str) -> list[str]:
            return [found["url"] for found in store.search_ads(AdQuery(text=text)).ads]

        assert urls("糖尿病") == urls("尿") == ["http://s/item/1.html"]
        assert urls("纯棉") == urls("棉t") == ["http://s/item/2.html"]
        assert urls("！！") == []


def test_a_write_killed_mid_transaction_leaves_the_store_intact(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    with SqliteStore(db) as store:
        store.save_items([ad()])
    child = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from indexer.sqlite import SqliteStore
        store = SqliteStore({str(db)!r})
        with store.transaction() as conn:
            for i in range(2000):
                conn.execute("INSERT INTO ads(canonical_url, site, first_seen, last_seen) VALUES (?, 'x', 'a', 'a')",
                             (f"http://half-written/{{i}}",))
            print("inside", flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "inside"
    proc.kill()
    proc.wait()
    with SqliteStore(db) as store:
        assert store.integrity_ok()
        assert store.counts()["ads"] == 1
        assert store.current_ads()[0]["title"] == "降糖神药"


def test_every_version_of_an_ad_is_listed_oldest_first(tmp_path: Path) -> None:
    first = ad()
    second = ad(body="本品用于辅助调节血糖，请遵医嘱。", hits=[])
    second.fetched_at, second.image_alts = "2026-12-01T00:00:00+00:00", ["降糖神药包装"]
    with SqliteStore(tmp_path / "a.db") as store:
        [saved_first] = store.save_items([first])
        [saved_second] = store.save_items([second])
        versions = store.ad_versions("http://s/item/1.html")
        assert [v["version_id"] for v in versions] == [saved_first.version_id, saved_second.version_id]
        assert [v["current"] for v in versions] == [False, True]
        assert [v["content_hash"] for v in versions] == [first.content_hash, second.content_hash]
        old, new = versions
        assert (old["url"], old["title"], old["body"], old["seller"]) == ("http://s/item/1.html", "降糖神药",
                                                                         "本品根治糖尿病，有效率98%", "某药房")
        assert (old["fetched_at"], old["prices"], old["image_alts"]) == ("2026-11-11T00:00:00+00:00", [89.9], [])
        assert old["document"] == first.document() == "降糖神药\n本品根治糖尿病，有效率98%"
        assert new["document"] == second.document() == "降糖神药\n本品用于辅助调节血糖，请遵医嘱。\n降糖神药包装"
        assert new["image_alts"] == ["降糖神药包装"]
        assert store.ad_versions("http://s/item/404.html") == []


def test_the_document_of_a_hit_is_the_version_it_was_found_on(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "a.db") as store:
        [saved] = store.save_items([ad()])
        store.save_items([ad(body="本品用于辅助调节血糖，请遵医嘱。", hits=[])])
        version = store.hit_document(saved.hit_ids[0])
        assert (version["version_id"], version["current"]) == (saved.version_id, False)
        assert version == store.ad_versions("http://s/item/1.html")[0]
        assert HIT["matched"] in version["document"]
        assert store.hit_document("0" * 20) is None


def test_the_encoding_doubt_is_stored_with_the_version(tmp_path: Path) -> None:
    doubtful = ad()
    doubtful.encoding_doubt = "declared gbk, bytes are not gbk: decoded as utf-8 with 2 replacements"
    with SqliteStore(tmp_path / "a.db") as store:
        store.save_items([doubtful, ad(url="http://s/item/2.html")])
        assert {item.canonical_url: item.encoding_doubt for item in store.iter_items()} == {
            "http://s/item/1.html": doubtful.encoding_doubt,
            "http://s/item/2.html": "",
        }


def test_a_store_made_before_the_encoding_doubt_gets_the_column_on_open(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(SCHEMA.replace("    encoding_doubt TEXT NOT NULL DEFAULT '',\n", ""))
        assert "encoding_doubt" not in {row[1] for row in conn.execute("PRAGMA table_info(ad_versions)")}
        conn.execute(
            "INSERT INTO ads(id, canonical_url, site, first_seen, last_seen)"
            " VALUES (1, 'http://s/old', 'mall', 'a', 'a')"
        )
        conn.execute(
            """INSERT INTO ad_versions(ad_id, content_hash, url, title, body, prices, price_texts, seller,
                   category_hints, image_alts, categories, risk, fetched_at, http_status, raw_ref)
               VALUES (1, 'h', 'http://s/old', '旧广告', '', '[]', '[]', '', '[]', '[]', '[]', 0, 'a', 200, '')"""
        )
    doubtful = ad()
    doubtful.encoding_doubt = "decoded as gb18030 (a guess)"
    with SqliteStore(db) as store:
        store.save_items([doubtful])
        assert [(item.title, item.encoding_doubt) for item in store.iter_items()] == [
            ("旧广告", ""),
            ("降糖神药", "decoded as gb18030 (a guess)"),
        ]
    with SqliteStore(db) as store:  # opening a migrated store again changes nothing
        assert store.counts()["versions"] == 2

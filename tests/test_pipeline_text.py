"""Hostile text through the pipeline stages: normalise, check, store — no item lost."""

from __future__ import annotations

from pathlib import Path

from scrapy.utils.test import get_crawler

from crawler.config import project_settings
from crawler.items import AdItem
from crawler.pipelines.normalise import NormalisePipeline
from crawler.pipelines.rule_check import RuleCheckPipeline
from indexer.sqlite import SqliteStore


def test_a_lone_surrogate_from_a_json_page_is_replaced_and_the_item_checked_and_stored(tmp_path: Path) -> None:
    """JSON can escape a lone surrogate; it cannot be hashed, stored or cut, so it becomes U+FFFD."""
    adwatch_settings = {k: v for k, v in project_settings().copy_to_dict().items() if k.startswith("ADWATCH_")}
    crawler = get_crawler(settings_dict=adwatch_settings)
    item = AdItem(
        url="http://s/item/1.html",
        site="s",
        canonical_url="http://s/item/1.html",
        title="降糖茶\ud851",
        body="本品根治\udc00糖尿病，有效率98%",
        price_texts=["¥\ud83d 89.90"],
        fetched_at="2026-11-11T08:00:00+00:00",
    )

    item = NormalisePipeline.from_crawler(crawler).process_item(item)
    item = RuleCheckPipeline.from_crawler(crawler).process_item(item)
    with SqliteStore(tmp_path / "adwatch.db") as store:
        (outcome,) = store.save_items([item])

    assert item.title == "降糖茶\ufffd" and item.body == "本品根治\ufffd糖尿病，有效率98%"
    assert item.price_texts == ["¥\ufffd 89.90"]
    assert item.prices == [89.9] and item.content_hash
    assert {"根治\ufffd糖尿病", "有效率"} <= {hit["matched"] for hit in item.hits}
    assert outcome.status == "new" and len(outcome.hit_ids) == len(item.hits)

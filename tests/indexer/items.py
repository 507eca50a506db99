"""A small, fixed set of checked ads for the backend tests (Chinese text, two sites, three articles, two days)."""

from __future__ import annotations

from scrapy.utils.test import get_crawler

from crawler.items import AdItem
from crawler.pipelines.normalise import NormalisePipeline


def hit(item: AdItem, matched: str, rule_id: str, article_key: str, severity: str = "high",
        category: str = "drug") -> dict:
    """A rule hit on ``matched``, at its place in the item's checked text."""
    start = item.document().index(matched)
    return {"rule_id": rule_id, "law": "广告法", "article": f"{article_key}第一款", "article_key": article_key,
            "severity": severity, "category": category, "matched": matched, "start": start,
            "end": start + len(matched), "explanation": f"不得使用“{matched}”", "penalty": "《广告法》第五十八条"}


def ad(url: str, site: str, title: str, body: str, hits: list[tuple], fetched_at: str, risk: float,
       seller: str = "某商家") -> AdItem:
    """A checked item as the pipeline hands it on: normalised (content hash set), hits and risk filled."""
    item = AdItem(url=url, site=site, canonical_url=url, title=title, body=body, seller=seller,
                  price_texts=["¥89.90"], fetched_at=fetched_at, http_status=200, raw_ref="crawl.warc.gz#0")
    item = NormalisePipeline(get_crawler()).process_item(item)
    item.hits = [hit(item, *spec) for spec in hits]
    item.risk = risk
    return item


def drug_ad(body: str = "本品根治糖尿病，有效率98%，无效退款", hits: list[tuple] | None = None,
            fetched_at: str = "2026-11-11T08:00:00+00:00") -> AdItem:
    default = [("有效率98%", "ad16-cure-rate", "广告法第十六条"),
               ("无效退款", "ad28-refund", "广告法第二十八条", "medium")]
    return ad("http://mall.test/item/1.html", "mall", "降糖神药", body, default if hits is None else hits,
              fetched_at, 0.9, seller="某药房")


def catalogue() -> list[AdItem]:
    """Four ads, five hits: mall ×2 (4 hits), hospital ×1 (1 hit), news ×1 (no hit)."""
    return [
        drug_ad(),
        ad("http://mall.test/item/2.html", "mall", "纯棉T恤", "国家级最好的纯棉T恤，舒适透气",
           [("国家级", "ad9-superlative", "广告法第九条", "medium", "general"),
            ("最好", "ad9-best", "广告法第九条", "medium", "general")], "2026-11-12T09:30:00+00:00", 0.5),
        ad("http://hospital.test/doc/3.html", "hospital", "男科专家", "治愈率高达95%，糖尿病患者也可以来",
           [("治愈率高达95%", "ad16-cure-rate", "广告法第十六条", "high", "medical")],
           "2026-11-12T10:00:00+00:00", 0.8, seller="某医院"),
        ad("http://news.test/a/4.html", "news", "今日新闻", "本地天气晴，气温十度", [],
           "2026-11-12T11:00:00+00:00", 0.0, seller=""),
    ]

"""Benchmark: the indexer against raw ``_bulk`` requests, and an indexer-built query against a hand-written one.

    .venv/bin/python bench/bench_index.py      # starts OpenSearch and Elasticsearch nodes (tests/support/engines.py)
    .venv/bin/python bench/bench_index.py --engines es --hits 20000
    .venv/bin/python bench/bench_index.py --url opensearch+http://127.0.0.1:9200

1. Throughput: the same hit documents (default 100 000, four per ad, plus one
   document per ad) written (a) through the indexer — ``EngineIndex.index_items``
   in pipeline-sized batches, which cuts the Chinese text with jieba, looks the
   ads' previous state up in its write ledger (a local SQLite file: no read from
   the engine) and writes hits then ads, in bulk requests cut by size, two at a
   time, recording each acknowledged ad in the ledger — and (b)
   as ready-made documents (jieba done before the clock starts) by a bare
   sequential loop of ``_bulk`` requests of 1,000 documents.  Target: (a)/(b) ≥ 0.9, on each engine.
2. Latency: a typical reviewer query (filters + Chinese full text + three
   aggregations) built by the indexer (``search_hits``: body built, sent, parsed)
   against the same body written by hand and sent raw.  Target: ratio ≤ 1.2.

It prints figures; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawler.items import AdItem  # noqa: E402
from indexer import bodies  # noqa: E402
from indexer.backend import HitQuery  # noqa: E402
from indexer.clients import EngineClient, make_client, ndjson  # noqa: E402
from indexer.config import parse_index_url  # noqa: E402
from indexer.documents import ItemText, ad_document, hit_documents, new_review_fields  # noqa: E402
from indexer.engine import EngineIndex  # noqa: E402
from indexer.ledger import Ledger  # noqa: E402
from tests.support.engines import ElasticsearchNode, EngineNode, OpenSearchNode  # noqa: E402

SITES = ("mall", "hospital", "healthfood", "pharmacy", "collect", "news")
PHRASES = ("本品根治糖尿病", "有效率高达98%", "国家级权威认证", "无效全额退款", "纯棉舒适透气", "限时抢购",
           "专家推荐", "治愈率百分之百", "收藏品升值潜力巨大", "老人小孩都适用", "立即见效", "三天见效",
           "最好的选择", "中医世家祖传秘方", "包治百病", "投资回报稳赚不赔", "权威机构检测", "全网最低价")
RULES = (("ad16-cure-rate", "广告法第十六条", "high"), ("ad9-superlative", "广告法第九条", "medium"),
         ("ad28-false", "广告法第二十八条", "high"), ("ad25-investment", "广告法第二十五条", "medium"))
HITS_PER_AD = 4
BATCH_ITEMS = 500


def make_items(hit_count: int, seed: int = 0) -> list[AdItem]:
    rng = random.Random(seed)
    items = []
    for number in range(hit_count // HITS_PER_AD):
        phrases = rng.sample(PHRASES, 8)
        title, body = phrases[0], "，".join(phrases[1:]) + "。" + "详情请咨询客服，欢迎选购。" * 3
        url = f"http://{SITES[number % 6]}.bench/item/{number}.html"
        item = AdItem(url=url, site=SITES[number % 6], canonical_url=url, title=title, body=body,
                      seller=f"商家{number % 500}", fetched_at=f"2026-11-{1 + number % 28:02d}T08:00:00+00:00",
                      content_hash=f"{number:064x}", risk=round(rng.random(), 3), http_status=200)
        text = item.document()
        item.hits = [_hit(text, phrase, RULES[i % len(RULES)]) for i, phrase in enumerate(phrases[1:1 + HITS_PER_AD])]
        items.append(item)
    return items


def _hit(text: str, phrase: str, rule: tuple[str, str, str]) -> dict:
    start = text.index(phrase)
    return {"rule_id": rule[0], "law": "广告法", "article": rule[1], "article_key": rule[1], "severity": rule[2],
            "category": "drug", "matched": phrase, "start": start, "end": start + len(phrase),
            "explanation": "", "penalty": ""}


def raw_actions(items: list[AdItem], names: bodies.Names) -> list[dict]:
    """The same documents as plain ``index`` actions, built before the clock starts."""
    lines: list[dict] = []
    for item in items:
        text = ItemText.of(item)
        docs = hit_documents(item, text)
        for doc in docs:
            lines += [{"index": {"_index": names.hits_index(item.fetched_at), "_id": doc["hit_id"]}},
                      {**new_review_fields(), **doc}]
        ad = ad_document(item, text, [d["hit_id"] for d in docs], None)
        lines += [{"index": {"_index": names.ads_index, "_id": ad["ad_key"]}}, ad]
    return lines


def bench_raw(client: EngineClient, lines: list[dict], chunk: int = 2000) -> float:
    started = time.perf_counter()
    for start in range(0, len(lines), chunk):
        response = client.request("POST", "/_bulk", body=ndjson(lines[start:start + chunk]))
        if response["errors"]:
            raise RuntimeError("raw bulk had errors")
    return time.perf_counter() - started


def bench_indexer(index: EngineIndex, items: list[AdItem]) -> float:
    started = time.perf_counter()
    for start in range(0, len(items), BATCH_ITEMS):
        result = index.index_items(items[start:start + BATCH_ITEMS])
        if result.deferred or result.rejected:
            raise RuntimeError(f"indexer left {len(result.deferred)} deferred, {len(result.rejected)} rejected")
    return time.perf_counter() - started


REVIEWER_QUERY = HitQuery(text="糖尿病 有效率", sites=("mall", "pharmacy", "hospital"), severities=("high",),
                          statuses=("pending",), day_from="2026-11-05", day_to="2026-11-25",
                          aggregations=("article", "site", "day"), size=20)

HAND_WRITTEN = {
    "query": {"bool": {
        "filter": [{"terms": {"site": ["mall", "pharmacy", "hospital"]}}, {"terms": {"severity": ["high"]}},
                   {"terms": {"review_status": ["pending"]}}, {"term": {"current": True}},
                   {"range": {"day": {"gte": "2026-11-05", "lte": "2026-11-25"}}}],
        "must": [{"match_phrase": {"grams": "糖 尿 病"}}, {"match_phrase": {"grams": "有 效 率"}}]}},
    "size": 20, "from": 0, "track_total_hits": True, "sort": [{"risk": "desc"}, {"hit_id": "asc"}],
    "_source": {"includes": ["hit_id", "site", "title", "article_key", "matched", "risk", "review_status"]},
    "aggs": {"article": {"terms": {"field": "article_key", "size": 100}},
             "site": {"terms": {"field": "site", "size": 100}},
             "day": {"date_histogram": {"field": "day", "calendar_interval": "day", "format": "yyyy-MM-dd",
                                        "min_doc_count": 1}}},
    "highlight": {"fields": {"text": {"highlight_query": {"bool": {"should": [
        {"match_phrase": {"text": "糖尿病"}}, {"match_phrase": {"text": "有效率"}}]}},
        "fragment_size": 80, "number_of_fragments": 3}}},
}


def bench_queries(index: EngineIndex, rounds: int) -> tuple[float, float, int]:
    path = f"/{index.names.hits_alias}/_search"
    built, hand = [], []
    for _ in range(20):  # warm caches for both
        index.search_hits(REVIEWER_QUERY)
        index.client.request("POST", path, body=HAND_WRITTEN)
    for _ in range(rounds):
        started = time.perf_counter()
        total = index.search_hits(REVIEWER_QUERY).total
        built.append(time.perf_counter() - started)
        started = time.perf_counter()
        index.client.request("POST", path, body=HAND_WRITTEN)
        hand.append(time.perf_counter() - started)
    return statistics.median(built), statistics.median(hand), total


def warm_up(client: EngineClient, items: list[AdItem]) -> None:
    """Both paths once on throwaway indices, so neither timed run pays for the JVM warming up."""
    for prefix in ("bench-warm-raw", "bench-warm-indexer"):
        index = indexer_under_test(client, prefix)
        index.init()
        if prefix.endswith("raw"):
            bench_raw(client, raw_actions(items, index.names))
        else:
            bench_indexer(index, items)
        index.remove()


def indexer_under_test(client: EngineClient, prefix: str) -> EngineIndex:
    """The indexer as a crawl opens it: with its write ledger (here in a throwaway folder)."""
    ledger = Ledger(Path(tempfile.mkdtemp(prefix="adwatch-bench-ledger-")) / "index-ledger.db")
    return EngineIndex(client, prefix=prefix, replicas=0, ledger=ledger)


NODES: dict[str, type[EngineNode]] = {"opensearch": OpenSearchNode, "es": ElasticsearchNode}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="an engine to use, as ADWATCH_INDEX names it (default: start the nodes)")
    parser.add_argument("--engines", default="opensearch,es", help="the nodes to start: opensearch, es or both")
    parser.add_argument("--hits", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    results = []
    if args.url:
        target = parse_index_url(args.url, "")
        results.append(run(make_client(target.kind, target.location, timeout=120), args.hits, args.rounds))
    for engine in ([] if args.url else args.engines.split(",")):
        with NODES[engine](heap="1g") as node:
            results.append(run(make_client(node.kind, node.url, timeout=120), args.hits, args.rounds))
    print("\n| engine | documents | raw _bulk s | indexer s | throughput ratio | query ratio |")
    print("|---|---|---|---|---|---|")
    for row in results:
        print(f"| {row['engine']} | {row['docs']} | {row['raw_s']} | {row['indexer_s']} | "
              f"**{row['throughput_ratio']:.2f}** | {row['query_ratio']:.2f} |")


def run(client: EngineClient, hit_count: int, rounds: int, slices: int = 8) -> dict:
    print(f"== {client.engine}")
    items = make_items(hit_count)
    raw_index = EngineIndex(client, prefix="bench-raw", replicas=0)
    via_indexer = indexer_under_test(client, "bench-indexer")
    for index in (raw_index, via_indexer):
        index.remove()
        index.init()
    warm_up(client, make_items(4000, seed=1))
    raw_seconds = indexer_seconds = prepare_seconds = 0.0
    docs = 0
    slice_ratios: list[float] = []
    size = -(-len(items) // slices)
    for number, start in enumerate(range(0, len(items), size)):  # alternate who goes first: the node drifts
        part = items[start:start + size]
        prepared = time.perf_counter()
        lines = raw_actions(part, raw_index.names)
        prepare_seconds += time.perf_counter() - prepared
        docs += len(lines) // 2
        if number % 2:
            indexer_part = bench_indexer(via_indexer, part)
            raw_part = bench_raw(client, lines)
        else:
            raw_part = bench_raw(client, lines)
            indexer_part = bench_indexer(via_indexer, part)
        raw_seconds, indexer_seconds = raw_seconds + raw_part, indexer_seconds + indexer_part
        slice_ratios.append(raw_part / indexer_part)
    via_indexer.refresh()
    report(docs, len(items), hit_count, raw_seconds, indexer_seconds, prepare_seconds)
    print("ratio per slice (each pair run back to back): " + " ".join(f"{r:.2f}" for r in slice_ratios))
    built, hand, total = bench_queries(via_indexer, rounds)
    print(f"reviewer query ({total} hits): built by the indexer {built * 1000:.1f} ms, hand-written "
          f"{hand * 1000:.1f} ms (medians of {rounds}); latency ratio {built / hand:.2f} (target ≤ 1.2)")
    figures = {"engine": client.engine, "docs": docs, "raw_s": round(raw_seconds, 2),
               "indexer_s": round(indexer_seconds, 2), "throughput_ratio": round(raw_seconds / indexer_seconds, 3),
               "query_ratio": round(built / hand, 3)}
    print(json.dumps(figures))
    return figures


def report(docs: int, ads: int, hits: int, raw_seconds: float, indexer_seconds: float, prepare: float) -> None:
    print(f"documents: {hits} hits + {ads} ads = {docs}")
    print(f"raw _bulk (ready-made documents): {raw_seconds:7.1f} s  {docs / raw_seconds:8.0f} docs/s"
          f"   (building them, jieba included, took {prepare:.1f} s more)")
    print(f"through the indexer:              {indexer_seconds:7.1f} s  {docs / indexer_seconds:8.0f} docs/s")
    print(f"throughput ratio indexer/raw: {raw_seconds / indexer_seconds:.2f} (target ≥ 0.9); "
          f"counting the raw side's document building: {(raw_seconds + prepare) / indexer_seconds:.2f}")


if __name__ == "__main__":
    main()

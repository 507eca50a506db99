"""The search-engine backend (OpenSearch or Elasticsearch): the storage interface over bulk writes and searches.

Writes are idempotent and script-free, and need no read first: what the index
holds for each ad comes from the write ledger (:mod:`indexer.ledger`), a local
record of what the engine has acknowledged (without one, the engine is asked in
real time, ``_mget``); then

1. hit documents are created (content the index has never seen) or upserted
   (partial update + upsert, so review state survives), and hits of an older
   version of the ad are marked ``current: false``;
2. only for items whose hit actions all landed (or were rejected for good) is the
   ad document written — it is the item's commit marker: an ad whose document
   holds the item's content hash has all its hits indexed.

Per-document failures the engine may recover from (429, 5xx, conflicts) are
retried with exponential back-off; what still fails comes back as *deferred*
items (for the journal); documents the engine refuses (mapping conflicts,
oversized terms) come back as :class:`Rejection` with the engine's reason and
never hold up the rest of the batch.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from crawler.exceptions import EngineError
from crawler.items import AdItem
from indexer import bodies
from indexer.backend import AdQuery, AdResults, HitQuery, HitResults, IndexResult, Rejection, Review
from indexer.bodies import MAPPING_VERSION, Action, Names
from indexer.clients import RETRYABLE_STATUSES, EngineClient, ndjson
from indexer.documents import REVIEW_FIELDS, ItemText, ad_document, ad_key, fetched_at, hit_documents, item_hit_id
from indexer.ledger import Ledger

logger = logging.getLogger(__name__)


@dataclass
class ItemPlan:
    """The bulk actions one item needs: hit actions first, then the ad document (the commit marker)."""

    item: AdItem
    hit_actions: list[Action] = field(default_factory=list)
    ad_action: Action | None = None
    #: What the index will hold for the ad once the plan is written (:data:`bodies.PREVIOUS_AD_FIELDS`).
    state: dict[str, Any] = field(default_factory=dict)


def _first_fetched(content_hash: str, ad: dict[str, Any] | None, default: str) -> str:
    """When this content of the ad was first indexed: keeps a version's hits in one monthly index for good."""
    for version in (ad or {}).get("versions") or []:
        if version["content_hash"] == content_hash:
            return version["fetched_at"]
    return default


def _state_after(plan: ItemPlan, previous: dict[str, Any] | None) -> dict[str, Any]:
    """What the ad document will hold of :data:`bodies.PREVIOUS_AD_FIELDS` once ``plan`` is written."""
    assert plan.ad_action is not None
    action, source = plan.ad_action
    written = source if "index" in action else {**(previous or {}), **source["doc"]}
    return {name: written[name] for name in bodies.PREVIOUS_AD_FIELDS if name in written}


def _settled(action: Action, status: int) -> bool:
    """Failures that mean the work is done: the hit to create exists, the hit to mark superseded is gone."""
    kind = next(iter(action[0]))
    return (kind == "create" and status == 409) or (kind == "update" and status == 404 and "upsert" not in action[1])


def _outcome(entry: dict[str, Any]) -> dict[str, Any]:
    return next(iter(entry.values()))


def _reason(outcome: dict[str, Any]) -> str:
    error = outcome.get("error") or {}
    if isinstance(error, dict):
        cause = error.get("caused_by", {}).get("reason", "")
        return f"{error.get('type', 'error')}: {error.get('reason', '')}" + (f" ({cause})" if cause else "")
    return str(error)


#: Bulk requests are cut by size, not count: ads differ tenfold in length.  A few MB per request is
#: where both engines' own guidance puts the best throughput; far below http.max_content_length (100 MB).
BULK_BYTES = 8 * 1024 * 1024
#: Items planned (looked up, cut by jieba) per group; groups are written while the next is planned.
SUB_BATCH = 250
#: Groups written at once: the engine indexes one request while the next is on its way.
IN_FLIGHT = 2


class EngineIndex:
    """OpenSearch or Elasticsearch behind the :class:`~indexer.backend.AdIndex` interface."""

    def __init__(self, client: EngineClient, prefix: str = "adwatch", replicas: int = 1,
                 version: int = MAPPING_VERSION, max_retries: int = 3, backoff: float = 0.5,
                 bulk_bytes: int = BULK_BYTES, sub_batch: int = SUB_BATCH, in_flight: int = IN_FLIGHT,
                 ledger: Ledger | None = None) -> None:
        self.client = client
        self.ledger = ledger
        #: The ads index's UUID while the ledger answers for it; ``None``: ask the engine.
        self._ledger_uuid: str | None = None
        self.name = client.engine
        self.names = Names(prefix, version)
        self.replicas = replicas
        self.max_retries, self.backoff, self.bulk_bytes = max_retries, backoff, bulk_bytes
        self.sub_batch, self.in_flight = sub_batch, in_flight
        self._known_indices: set[str] = set()
        self._ready = False
        self._loading = False

    # --- lifecycle ---

    def live_version(self) -> int | None:
        """The mapping version the read aliases point at, or ``None`` before the first ``init``."""
        aliases = self.client.request("GET", f"/_alias/{self.names.ads_alias}", ignore=(404,)) or {}
        versions = [self.names.version_of(index) for index in aliases]
        return max((v for v in versions if v is not None), default=None)

    def init(self) -> None:
        """Templates, the ads index and the aliases for this mapping version; idempotent.

        If the aliases point at an older version, the new indices are built without
        them (nothing changes for readers) until ``adwatch index rebuild`` swaps them.
        """
        live = self.live_version()
        self._put_templates(with_aliases=live in (None, self.names.version))
        created = self._ensure_index(self.names.ads_index)
        if self.ledger is not None:
            self._follow(created)
        self._ready = True

    def _follow(self, created: bool) -> None:
        """Let the ledger answer for the ads index: from its creation, or after reading it in full once."""
        assert self.ledger is not None
        index = self.names.ads_index
        uuid = self._index_uuid(index)
        if created:
            self.ledger.start(uuid, index)
        elif not self.ledger.is_complete(uuid):
            logger.info("写入账本首次读取索引 %s / the write ledger reads index %s in full once", index, index)
            self.ledger.start(uuid, index, list(self._ad_states()))  # read before the ledger's write lock
        self._ledger_uuid = uuid

    def _index_uuid(self, index: str) -> str:
        response = self.client.request("GET", f"/{index}/_settings/index.uuid")
        return response[index]["settings"]["index"]["uuid"]

    def _ad_states(self, page: int = 5000) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every ad's state as the index holds it (refreshed first), in pages."""
        self.client.request("POST", f"/{self.names.ads_index}/_refresh")
        after: list[Any] | None = None
        while True:
            body = bodies.ad_states_page(page, after)
            hits = self.client.request("POST", f"/{self.names.ads_index}/_search", body=body)["hits"]["hits"]
            yield from ((hit["_id"], hit["_source"]) for hit in hits)
            if len(hits) < page:
                return
            after = hits[-1]["sort"]

    def _put_templates(self, with_aliases: bool) -> None:
        for name, body in bodies.templates(self.names, self.replicas, with_aliases).items():
            self.client.request("PUT", f"/_index_template/{name}", body=body)

    def _ensure_index(self, index: str) -> bool:
        """Create ``index`` unless it exists; ``True`` when this call created it."""
        if index in self._known_indices:
            return False
        created = False
        if not self.client.request("HEAD", f"/{index}", ignore=(404,)):
            body = {"settings": bodies.refresh_setting(-1)} if self._loading else None
            try:
                self.client.request("PUT", f"/{index}", body=body)
                created = True
            except EngineError as exc:
                if "resource_already_exists_exception" not in str(exc):
                    raise
        self._known_indices.add(index)
        return created

    def cut_over(self, previous: int | None) -> None:
        """Point the read aliases at this version's indices in one atomic step; new months follow."""
        old = Names(self.names.prefix, previous) if previous is not None else None
        self.client.request("POST", "/_aliases", body=bodies.alias_swap(old, self.names))
        self._put_templates(with_aliases=True)

    def drop_version(self, version: int) -> None:
        """Delete the indices and templates of an old mapping version."""
        old = Names(self.names.prefix, version)
        self.delete_indices(old.ads_index, old.hits_pattern)
        for template in (old.ads_template, old.hits_template):
            self.client.request("DELETE", f"/_index_template/{template}", ignore=(404,))

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Refresh off on this version's indices while a rebuild fills them; restored and refreshed after.

        Refreshing makes new documents searchable, once a second by default; during a rebuild nobody
        reads the new documents yet, and every refresh costs the engine a small segment.
        """
        self._loading = True
        self._set_refresh(-1)
        try:
            yield
        finally:
            self._loading = False
            self._set_refresh(None)
            self.refresh()

    def _set_refresh(self, interval: int | None) -> None:
        names = self._index_names(self.names.ads_index, self.names.hits_pattern)
        if names:
            self.client.request("PUT", f"/{','.join(names)}/_settings", body=bodies.refresh_setting(interval))

    def delete_indices(self, *patterns: str) -> None:
        """Delete the indices ``patterns`` match, by name: Elasticsearch 8 refuses wildcard deletes by default."""
        names = self._index_names(*patterns)
        if names:
            self.client.request("DELETE", f"/{','.join(names)}", ignore=(404,))

    def remove(self) -> None:
        """Delete every index and template under this prefix, all versions (tests and benchmarks)."""
        self.delete_indices(f"{self.names.prefix}-*")
        self.client.request("DELETE", f"/_index_template/{self.names.prefix}-*", ignore=(404,))

    def _index_names(self, *patterns: str) -> list[str]:
        """The names of the indices ``patterns`` match: settings and deletes go to indices by name."""
        return sorted({row["index"] for pattern in patterns for row in self._cat_indices(pattern)})

    def _cat_indices(self, pattern: str) -> list[dict[str, Any]]:
        return self.client.request("GET", f"/_cat/indices/{pattern}", ignore=(404,),
                                   params={"format": "json", "h": "index,docs.count,health",
                                           "expand_wildcards": "all"}) or []

    def status(self) -> dict[str, Any]:
        """Cluster health, versions, and every AdWatch index with its alias and document count."""
        health = self.client.request("GET", "/_cluster/health")
        rows = self._cat_indices(f"{self.names.prefix}-*")
        aliases = self.client.request("GET", f"/{self.names.prefix}-*/_alias", ignore=(404,)) or {}
        indices = [{"index": r["index"], "docs": int(r.get("docs.count") or 0), "health": r.get("health"),
                    "aliases": sorted(aliases.get(r["index"], {}).get("aliases", {}))}
                   for r in sorted(rows, key=lambda r: r["index"])]
        return {"engine": self.name, "cluster": health.get("status"), "live_version": self.live_version(),
                "code_version": self.names.version, "indices": indices}

    # --- writing ---

    def index_items(self, items: Sequence[AdItem], *, force: bool = False) -> IndexResult:
        """Index items; ``force`` rewrites content the engine already holds (rebuilds, review state).

        Works in groups of ``sub_batch`` items: while up to ``in_flight`` groups are being
        written, the next is planned — its ads looked up and its text cut with jieba — so
        the engine and the cutting overlap.  A group that shares an ad with a group still
        being written waits for it: the writes of one ad stay in order.
        """
        if not items:
            return IndexResult()
        if not self._ready:
            self.init()
        result, carried = IndexResult(), {}
        running: deque[tuple[set[str], Future[IndexResult]]] = deque()
        with ThreadPoolExecutor(max_workers=self.in_flight, thread_name_prefix="adwatch-index") as senders:
            for start in range(0, len(items), self.sub_batch):
                plans = self._plans(items[start:start + self.sub_batch], carried, force)
                keys = {ad_key(plan.item.canonical_url) for plan in plans}
                while running and (len(running) >= self.in_flight or any(keys & ads for ads, _ in running)):
                    result.merge(running.popleft()[1].result())
                running.append((keys, senders.submit(self._execute, plans)))
            for _, future in running:
                result.merge(future.result())
        return result

    def _plans(self, items: Sequence[AdItem], carried: dict[str, dict[str, Any]], force: bool) -> list[ItemPlan]:
        """Plans in item order; ``carried`` holds what earlier items of this write did to their ads."""
        keys = [ad_key(item.canonical_url) for item in items]
        previous = {**self._previous(keys), **{key: carried[key] for key in keys if key in carried}}
        plans = []
        for key, item in zip(keys, items, strict=True):
            plan = self._plan(item, previous.get(key), force)
            previous[key] = carried[key] = plan.state = _state_after(plan, previous.get(key))
            plans.append(plan)
        for index in {a[0][next(iter(a[0]))]["_index"] for p in plans for a in p.hit_actions}:
            self._ensure_index(index)
        return plans

    def _previous(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """What the index holds for ``keys``: from the ledger, or else asked of the engine."""
        if self.ledger is not None and self._ledger_uuid is not None:
            try:
                return self.ledger.states(self._ledger_uuid, keys)
            except sqlite3.Error as exc:
                self._distrust_ledger(exc)
        response = self.client.request("POST", f"/{self.names.ads_index}/_mget", body=bodies.mget_previous(keys),
                                       params={"_source_includes": ",".join(bodies.PREVIOUS_AD_FIELDS)})
        return {doc["_id"]: doc["_source"] for doc in response["docs"] if doc.get("found")}

    def _plan(self, item: AdItem, previous: dict[str, Any] | None, force: bool) -> ItemPlan:
        key = ad_key(item.canonical_url)
        if previous and previous.get("content_hash") == item.content_hash and not force and _holds_hits(previous, item):
            last_seen = max(fetched_at(item), previous.get("last_seen") or "")
            return ItemPlan(item, [], bodies.ad_seen(self.names.ads_index, key, last_seen))
        text = ItemText.of(item)
        when = _first_fetched(item.content_hash, previous, fetched_at(item))
        hit_docs = hit_documents(item, text, when)
        write = bodies.hit_create if previous is None and not force else bodies.hit_upsert
        actions = [write(self.names.hits_index(when), doc) for doc in hit_docs]
        new_ids = [doc["hit_id"] for doc in hit_docs]
        if previous and previous.get("content_hash") != item.content_hash:
            actions += self._supersede(previous, new_ids)
        ad_doc = ad_document(item, text, new_ids, previous, when)
        return ItemPlan(item, actions, bodies.ad_put(self.names.ads_index, ad_doc))

    def _supersede(self, previous: dict[str, Any], keep: list[str]) -> list[Action]:
        """Mark the hits of the ad's previous version no longer current."""
        then = _first_fetched(previous.get("content_hash", ""), previous, previous.get("fetched_at", ""))
        index = self.names.hits_index(then)
        return [bodies.hit_supersede(index, old) for old in previous.get("hit_ids") or [] if old not in keep]

    def _execute(self, plans: list[ItemPlan]) -> IndexResult:
        owners = [i for i, plan in enumerate(plans) for _ in plan.hit_actions]
        hit_actions = [action for plan in plans for action in plan.hit_actions]
        failed, rejected = self._send(hit_actions)
        blocked = {owners[position] for position in failed}
        ad_owners = [i for i, plan in enumerate(plans) if i not in blocked and plan.ad_action]
        ad_failed, ad_rejected = self._send([plans[i].ad_action for i in ad_owners])
        blocked |= {ad_owners[position] for position in ad_failed}
        refused = {rejection.doc_id for rejection in ad_rejected}
        self._record([plans[i] for i in ad_owners if i not in blocked and ad_key(plans[i].item.canonical_url)
                      not in refused])
        written = len(hit_actions) + len(ad_owners) - len(failed) - len(ad_failed) - len(rejected) - len(ad_rejected)
        return IndexResult(written=written, deferred=[plans[i].item for i in sorted(blocked)],
                           rejected=rejected + ad_rejected)

    def _record(self, plans: list[ItemPlan]) -> None:
        """Tell the ledger what the engine acknowledged; if it cannot be told, stop trusting it."""
        if self.ledger is None or self._ledger_uuid is None or not plans:
            return
        try:
            self.ledger.record(self._ledger_uuid, [(ad_key(plan.item.canonical_url), plan.state) for plan in plans])
        except sqlite3.Error as exc:
            self._distrust_ledger(exc)

    def _distrust_ledger(self, exc: sqlite3.Error) -> None:
        """The ledger failed: ask the engine from now on, and have the ledger read the index afresh next time."""
        assert self.ledger is not None and self._ledger_uuid is not None
        uuid, self._ledger_uuid = self._ledger_uuid, None
        logger.error("写入账本 %s 出错，改为向搜索引擎查询 / the write ledger %s failed, asking the engine instead: %s",
                     self.ledger.path, self.ledger.path, exc)
        try:
            self.ledger.abandon(uuid)
        except sqlite3.Error:
            logger.error("写入账本 %s 已不可信，请删除该文件 / the ledger %s can no longer be trusted: delete it",
                         self.ledger.path, self.ledger.path)

    def send_actions(self, actions: list[Action]) -> IndexResult:
        """Bulk raw actions (a journalled rejection being retried)."""
        failed, rejected = self._send(actions)
        return IndexResult(written=len(actions) - len(failed) - len(rejected), rejected=rejected)

    def _send(self, actions: list[Action]) -> tuple[list[int], list[Rejection]]:
        """Bulk with retries and back-off; returns positions still failing (retryably) and the rejections."""
        lines = [ndjson(action) for action in actions]
        pending, rejections = list(range(len(actions))), []
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            retry: list[int] = []
            for chunk in self._chunks(pending, lines):
                self._send_chunk(actions, lines, chunk, retry, rejections)
            pending = retry
            if not pending:
                break
        return pending, rejections

    def _chunks(self, positions: list[int], lines: list[bytes]) -> Iterator[list[int]]:
        """Consecutive positions whose serialised actions add up to at most ``bulk_bytes`` (one at least)."""
        chunk: list[int] = []
        size = 0
        for position in positions:
            length = len(lines[position])
            if chunk and size + length > self.bulk_bytes:
                yield chunk
                chunk, size = [], 0
            chunk.append(position)
            size += length
        if chunk:
            yield chunk

    def _send_chunk(self, actions: list[Action], lines: list[bytes], chunk: list[int], retry: list[int],
                    rejections: list[Rejection]) -> None:
        response = self.client.bulk(b"".join(lines[position] for position in chunk))
        if not response.get("errors"):
            return
        for position, entry in zip(chunk, response["items"], strict=True):
            outcome = _outcome(entry)
            status = outcome.get("status", 500)
            if status < 300 or _settled(actions[position], status):
                continue
            if status in RETRYABLE_STATUSES or status == 409:
                retry.append(position)
            else:
                target = next(iter(actions[position][0].values()))
                rejections.append(Rejection(target.get("_id", ""), target.get("_index", ""), _reason(outcome),
                                            actions[position]))

    # --- reading ---

    def search_hits(self, query: HitQuery) -> HitResults:
        body = bodies.hit_search(query)
        response = self.client.request("POST", f"/{self.names.hits_alias}/_search", body=body, ignore=(404,))
        return bodies.parse_hits(response, query.text) if response else HitResults(total=0)

    def search_ads(self, query: AdQuery) -> AdResults:
        """An ad query; a review-state filter is first resolved to the ads holding such a hit (hits index)."""
        if not (query.text.strip() or query.filtered):
            return AdResults(total=0)
        ad_keys = self._ads_with_status(query.statuses) if query.statuses else None
        if ad_keys == []:
            return AdResults(total=0)
        body = bodies.ad_search(query, ad_keys)
        response = self.client.request("POST", f"/{self.names.ads_alias}/_search", body=body, ignore=(404,))
        return bodies.parse_ads(response, query.text) if response else AdResults(total=0)

    def _ads_with_status(self, statuses: tuple[str, ...]) -> list[str]:
        """The keys of every ad with a current hit in one of ``statuses`` (composite aggregation, paged)."""
        keys: list[str] = []
        after: dict[str, Any] | None = None
        while True:
            response = self.client.request("POST", f"/{self.names.hits_alias}/_search",
                                           body=bodies.ads_with_status(statuses, after), ignore=(404,))
            aggregation = (response or {}).get("aggregations", {}).get("ads", {})
            keys += [bucket["key"]["ad_key"] for bucket in aggregation.get("buckets", [])]
            after = aggregation.get("after_key")
            if not aggregation.get("buckets") or after is None:
                return keys

    def _find_hit(self, hit_id: str) -> dict[str, Any] | None:
        """A hit by id, in real time (``_mget`` over every monthly index: no refresh needed)."""
        aliases = self.client.request("GET", f"/_alias/{self.names.hits_alias}", ignore=(404,)) or {}
        if not aliases:
            return None
        docs = [{"_index": index, "_id": hit_id} for index in sorted(aliases)]
        response = self.client.request("POST", "/_mget", body={"docs": docs})
        return next((doc for doc in response["docs"] if doc.get("found")), None)

    def get_hit(self, hit_id: str) -> dict[str, Any] | None:
        found = self._find_hit(hit_id)
        return bodies.parse_hits({"hits": {"total": 1, "hits": [found]}}).hits[0] if found else None

    def set_review(self, hit_id: str, review: Review) -> bool:
        found = self._find_hit(hit_id)
        if found is None:
            return False
        fields = dict(zip(REVIEW_FIELDS, (review.status, review.reviewer, review.reason or None,
                                          review.reviewed_at or None), strict=True))
        self.client.request("POST", f"/{found['_index']}/_update/{hit_id}", body=bodies.review_update(fields),
                            params={"retry_on_conflict": 3})
        return True

    def counts(self) -> dict[str, int]:
        return {kind: self._count(alias) for kind, alias in (("ads", self.names.ads_alias),
                                                              ("hits", self.names.hits_alias))}

    def _count(self, alias: str) -> int:
        response = self.client.request("GET", f"/{alias}/_count", ignore=(404,))
        return int(response["count"]) if response else 0

    def refresh(self) -> None:
        self.client.request("POST", f"/{self.names.prefix}-*/_refresh", ignore=(404,))

    def close(self) -> None:
        self.client.close()
        if self.ledger is not None:
            self.ledger.close()

    def iter_items(self, page: int = 200) -> Iterator[AdItem]:
        """Every ad's current version with its hits and their review state (to rebuild another backend)."""
        after: list[Any] | None = None
        while True:
            response = self.client.request("POST", f"/{self.names.ads_alias}/_search",
                                           body=bodies.all_docs("ad_key", page, after), ignore=(404,))
            docs = (response or {}).get("hits", {}).get("hits", [])
            if not docs:
                return
            yield from self._items_with_hits([doc["_source"] for doc in docs])
            after = docs[-1]["sort"]

    def _items_with_hits(self, ads: list[dict[str, Any]]) -> Iterator[AdItem]:
        response = self.client.request("POST", f"/{self.names.hits_alias}/_search",
                                       body=bodies.by_ad_keys([ad["ad_key"] for ad in ads]), ignore=(404,))
        hits: dict[str, list[dict[str, Any]]] = {}
        for raw in (response or {}).get("hits", {}).get("hits", []):
            hits.setdefault(raw["_source"]["ad_key"], []).append(raw["_source"])
        for ad in ads:
            yield _item_from_docs(ad, hits.get(ad["ad_key"], []))


_HIT_KEYS = ("rule_id", "law", "article", "article_key", "severity", "category", "matched", "start", "end",
             "explanation", "penalty", *REVIEW_FIELDS)
_AD_KEYS = ("url", "site", "canonical_url", "title", "seller", "prices", "price_texts", "category_hints",
            "image_alts", "http_status", "content_hash", "raw_ref", "categories", "risk")


def _item_from_docs(ad: dict[str, Any], hits: list[dict[str, Any]]) -> AdItem:
    body = ad.get("text", "")
    title = ad.get("title", "")
    body = body[len(title) + 1:] if title and body.startswith(title + "\n") else body
    alts = ad.get("image_alts") or []
    for alt in reversed(alts):
        body = body[: -len(alt) - 1] if body.endswith("\n" + alt) else body
    when = _first_fetched(ad.get("content_hash", ""), ad, ad.get("fetched_at", ""))
    item = AdItem(**{key: ad[key] for key in _AD_KEYS if key in ad}, body=body, fetched_at=when)
    item.hits = [{key: hit.get(key) for key in _HIT_KEYS} for hit in sorted(hits, key=lambda h: h["start"])]
    return item



def _holds_hits(previous: dict[str, Any], item: AdItem) -> bool:
    """Whether the index holds every hit of ``item`` already.

    A crawl's item of unchanged content carries the hits its text gives; findings stored after the crawl (price
    tricks, market findings) come back on the item read from the store, and are written though the content is the same.
    """
    held = set(previous.get("hit_ids") or ())
    return all(item_hit_id(item, hit) in held for hit in item.hits)

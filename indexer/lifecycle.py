"""Rebuilding an index from another backend, with no downtime for readers.

``rebuild`` re-indexes every item of a source backend (normally the embedded
SQLite store, the system of record; or another engine) into the target:

* same mapping version as the live one: documents are rewritten in place
  (idempotent ids, so nothing is duplicated; review state comes from the source);
* new mapping version (``MAPPING_VERSION`` was bumped): the new indices are
  filled while readers keep using the old ones through the aliases, then both
  aliases move in one atomic ``_aliases`` call; the old indices are dropped on request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from crawler.exceptions import EngineUnavailable
from crawler.items import AdItem
from indexer.backend import REVIEW_STATUSES, AdIndex, Rejection, Review
from indexer.engine import EngineIndex
from indexer.sqlite import SqliteStore, hit_id


@dataclass
class RebuildReport:
    items: int = 0
    written: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    previous_version: int | None = None
    version: int | None = None


def batched(items: Iterable[AdItem], size: int) -> Iterator[list[AdItem]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def rebuild(target: AdIndex, items: Iterable[AdItem], batch_size: int = 500, drop_old: bool = False,
            on_batch: Callable[[int], None] | None = None) -> RebuildReport:
    """Re-index ``items`` into ``target``; for an engine, swap the aliases if the mapping version changed."""
    if isinstance(target, EngineIndex):
        return _rebuild_engine(target, items, batch_size, drop_old, on_batch)
    report = RebuildReport()
    for chunk in batched(items, batch_size):
        report.written += target.index_items(chunk).written
        report.items += len(chunk)
        _copy_reviews(target, chunk)
        if on_batch:
            on_batch(report.items)
    return report


def _rebuild_engine(target: EngineIndex, items: Iterable[AdItem], batch_size: int, drop_old: bool,
                    on_batch: Callable[[int], None] | None) -> RebuildReport:
    report = RebuildReport(previous_version=target.live_version(), version=target.names.version)
    target.init()
    with target.bulk_load():
        for chunk in batched(items, batch_size):
            result = target.index_items(chunk, force=True)
            if result.deferred:
                raise EngineUnavailable(f"{len(result.deferred)} item(s) could not be written; run rebuild again")
            report.items += len(chunk)
            report.written += result.written
            report.rejected += result.rejected
            if on_batch:
                on_batch(report.items)
    if report.previous_version != report.version:
        target.cut_over(report.previous_version)
        if drop_old and report.previous_version is not None:
            target.drop_version(report.previous_version)
    return report


def _copy_reviews(store: AdIndex, items: list[AdItem]) -> None:
    """Carry review decisions over into a SQLite store (``save_items`` stores new hits as pending)."""
    if not isinstance(store, SqliteStore):
        return
    for item in items:
        for hit in item.hits:
            status = hit.get("review_status")
            if status in REVIEW_STATUSES and status != "pending":
                review = Review(status, hit.get("reviewer") or "", hit.get("review_reason") or "",
                                hit.get("reviewed_at") or "")
                store.set_review(hit_id(item.canonical_url, item.content_hash, hit["rule_id"], hit["start"]), review)

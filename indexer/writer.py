"""Writes to the engine through the journal: nothing is lost while the engine is down, nothing written twice.

Rules, in order:

1. while the journal holds pending items, new items join the back of the queue
   (so they reach the engine after everything written before them) and a replay is tried;
2. after a failed attempt the engine is left alone for ``retry_interval`` seconds
   (items go straight to the journal), so an outage costs the crawl no time;
3. documents the engine rejects are journalled with its reason and never hold up the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from crawler.exceptions import EngineError, EngineUnavailable
from crawler.items import AdItem
from indexer.backend import IndexResult
from indexer.engine import EngineIndex
from indexer.journal import Journal

logger = logging.getLogger(__name__)


@dataclass
class WriteReport:
    """Outcome counts of one write or replay (the pipeline turns them into ``index/<engine>/…`` stats)."""

    written: int = 0
    queued: int = 0
    rejected: int = 0
    replayed: int = 0
    failures: int = 0

    def add(self, other: WriteReport) -> WriteReport:
        for name in ("written", "queued", "rejected", "replayed", "failures"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


class JournaledWriter:
    """An :class:`EngineIndex` behind a :class:`Journal`."""

    def __init__(self, index: EngineIndex, journal: Journal, retry_interval: float = 30.0,
                 replay_batch: int = 500, clock: Callable[[], float] = time.monotonic) -> None:
        self.index, self.journal = index, journal
        self.retry_interval, self.replay_batch, self.clock = retry_interval, replay_batch, clock
        self._retry_at = 0.0

    def _due(self) -> bool:
        return self.clock() >= self._retry_at

    def _failed(self, exc: Exception) -> None:
        self._retry_at = self.clock() + self.retry_interval
        logger.warning("Index %s unavailable, journalling to %s (next try in %.0fs): %s",
                       self.index.name, self.journal.path, self.retry_interval, exc)

    def write(self, items: Sequence[AdItem]) -> WriteReport:
        """Index ``items`` now, or queue them behind the backlog or while the engine is down."""
        if not items:
            return WriteReport()
        if self.journal.has_pending() or not self._due():
            report = WriteReport(queued=self.journal.append_items(items, "queued behind the backlog"))
            return report.add(self.replay())
        try:
            result = self.index.index_items(items)
        except (EngineUnavailable, EngineError) as exc:
            self._failed(exc)
            return WriteReport(queued=self.journal.append_items(items, str(exc)), failures=1)
        return self._settle(result)

    def _settle(self, result: IndexResult) -> WriteReport:
        report = WriteReport(written=result.written, rejected=self.journal.append_rejections(result.rejected))
        for rejection in result.rejected:
            logger.error("Index %s rejected %s in %s: %s", self.index.name, rejection.doc_id, rejection.index,
                         rejection.reason)
        if result.deferred:
            report.queued = self.journal.append_items(result.deferred, "engine busy")
            self._failed(EngineUnavailable(f"{len(result.deferred)} item(s) still failing after retries"))
        return report

    def replay(self, force: bool = False) -> WriteReport:
        """Send pending journal entries, oldest first, until none are left or the engine fails again."""
        report = WriteReport()
        if not force and not self._due():
            return report
        while entries := self.journal.entries("pending", self.replay_batch):
            try:
                result = self.index.index_items([entry.item() for entry in entries])
            except (EngineUnavailable, EngineError) as exc:
                self._failed(exc)
                report.failures += 1
                break
            if result.deferred:
                self._failed(EngineUnavailable(f"{len(result.deferred)} journalled item(s) still failing"))
                report.failures += 1
                break
            report.rejected += self.journal.append_rejections(result.rejected)
            self.journal.remove(entry.seq for entry in entries)
            report.written += result.written
            report.replayed += len(entries)
        return report

    def retry_rejected(self) -> WriteReport:
        """Send rejected documents again (after a mapping or data fix); those refused again stay, reason updated."""
        report, after = WriteReport(), 0
        while entries := self.journal.entries("rejected", self.replay_batch, after):
            after = entries[-1].seq
            for entry in entries:
                result = self.index.send_actions([tuple(entry.payload)])  # type: ignore[list-item]
                if result.rejected:
                    self.journal.set_reason(entry.seq, result.rejected[0].reason)
                    report.rejected += 1
                elif result.written:
                    self.journal.remove([entry.seq])
                    report.written += 1
        return report

    def close(self) -> None:
        self.journal.close()
        self.index.close()

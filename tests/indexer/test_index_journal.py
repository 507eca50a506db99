"""The journal: nothing lost while the engine is unreachable, replayed in order, rejections kept with reasons."""

from __future__ import annotations

from pathlib import Path

from indexer.backend import HitQuery
from indexer.clients import OpenSearchClient
from indexer.engine import EngineIndex
from indexer.journal import Journal
from indexer.writer import JournaledWriter
from tests.indexer.conftest import engine_index
from tests.indexer.items import catalogue, drug_ad
from tests.support.engines import free_port


def unreachable() -> EngineIndex:
    """An engine index pointed at a loopback port nobody listens on."""
    return engine_index(OpenSearchClient(f"http://127.0.0.1:{free_port()}", max_retries=0))


def test_items_wait_in_the_journal_while_the_engine_is_unreachable(tmp_path: Path,
                                                                   engine_backend: EngineIndex) -> None:
    journal = Journal(tmp_path / "journal.db")
    report = JournaledWriter(unreachable(), journal, retry_interval=0).write(catalogue())
    assert (report.written, report.queued, report.failures) == (0, 4, 1)
    assert Journal(tmp_path / "journal.db").backlog()["pending"] == 4

    replayed = JournaledWriter(engine_backend, journal).replay()
    engine_backend.refresh()
    assert (replayed.replayed, journal.backlog()["pending"]) == (4, 0)
    assert engine_backend.counts() == {"ads": 4, "hits": 5}


def test_new_items_queue_behind_the_backlog_so_the_latest_version_wins(tmp_path: Path,
                                                                       engine_backend: EngineIndex) -> None:
    journal = Journal(tmp_path / "journal.db")
    JournaledWriter(unreachable(), journal, retry_interval=0).write(catalogue())
    newer = drug_ad(body="本品调节血糖", hits=[], fetched_at="2026-12-01T00:00:00+00:00")
    report = JournaledWriter(engine_backend, journal).write([newer])
    engine_backend.refresh()
    assert (report.queued, report.replayed, journal.backlog()["pending"]) == (1, 5, 0)
    assert engine_backend.search_hits(HitQuery(sites=("mall",))).total == 2
    assert engine_backend.search_hits(HitQuery(sites=("mall",), current_only=False)).total == 4


def test_after_a_failure_the_engine_is_left_alone_for_the_retry_interval(tmp_path: Path) -> None:
    now = [100.0]
    writer = JournaledWriter(unreachable(), Journal(tmp_path / "journal.db"), retry_interval=30,
                             clock=lambda: now[0])
    assert writer.write(catalogue()[:1]).failures == 1
    assert writer.write(catalogue()[1:2]).failures == 0
    now[0] += 31
    assert writer.write(catalogue()[2:3]).failures == 1
    assert writer.journal.backlog()["pending"] == 3


def test_rejected_documents_are_journalled_with_the_reason_and_retried_on_request(
        tmp_path: Path, engine_backend: EngineIndex) -> None:
    items = catalogue()
    items[2].seller = "院" * 12000
    journal = Journal(tmp_path / "journal.db")
    writer = JournaledWriter(engine_backend, journal)
    report = writer.write(items)
    assert report.rejected == 2 and journal.backlog() == {**journal.backlog(), "pending": 0, "rejected": 2}
    assert all("immense term" in entry.reason for entry in journal.entries("rejected"))
    again = writer.retry_rejected()
    assert (again.rejected, again.written, journal.backlog()["rejected"]) == (2, 0, 2)

"""The fleet over real processes and a real redis-server: it stores what a local crawl stores, whatever fails."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

from tests.fleet.conftest import Fleet, raw_pages, seen_counts, stored


def _worker_busy(fleet: Fleet, pid: int) -> bool:
    state = fleet.state()
    mall = next((s for s in state.sites if s.site == "mall"), None)
    busy = any(w.worker.endswith(f"-{pid}") and w.in_flight > 0 and w.pages > 0 for w in state.workers)
    return busy and mall is not None and mall.queued > 0


def test_three_workers_store_what_a_local_crawl_stores(fleet, local_crawl: Path) -> None:
    crew = fleet()
    crew.start_workers(3)
    crew.start_ingest()
    crew.crawl()
    state = crew.wait_idle()
    assert stored(crew.db_path) == stored(local_crawl)
    # Each ad's raw record came over the stream into the ingest's own archive, the page the local crawl archived.
    assert raw_pages(crew.db_path) == raw_pages(local_crawl)
    with sqlite3.connect(crew.db_path) as db:
        archives = {ref.split("-")[0] for (ref,) in db.execute("SELECT raw_ref FROM ad_versions")}
    assert archives == {"fleet"}
    assert len(state.workers) == 3
    assert sum(w.pages for w in state.workers) > 0
    assert all(s.dead == 0 for s in state.sites)
    crew.crawl()  # the plan's next run: every page is fetched again, by workers that fetched it before
    crew.wait_idle()
    assert seen_counts(crew.db_path) == {2}


def test_a_worker_killed_mid_crawl_loses_nothing(fleet, local_crawl: Path) -> None:
    crew = fleet(ADWATCH_FLEET_HEARTBEAT="0.2")  # the fleet crawls the sites in seconds: see the victim busy in time
    victim, *_ = crew.start_workers(3)
    crew.start_ingest()
    crew.crawl()
    crew.wait_for(lambda _: _worker_busy(crew, victim.pid), "the victim holding leases mid-crawl")
    crew.kill(victim)
    crew.wait_idle()
    assert stored(crew.db_path) == stored(local_crawl)


def test_redis_restarted_mid_crawl_loses_nothing(fleet, redis_server, local_crawl: Path) -> None:
    crew = fleet()
    crew.start_workers(2)
    crew.start_ingest()
    crew.crawl()
    crew.wait_for(lambda s: any(site.site == "mall" and site.queued > 20 for site in s.sites), "mall half queued")
    redis_server.restart(signal.SIGKILL)  # a crash: only the AOF (fsync on every write) carries the state over
    crew.wait_idle()
    assert stored(crew.db_path) == stored(local_crawl)


def test_an_ingest_killed_mid_stream_loses_nothing_and_doubles_nothing(fleet, local_crawl: Path) -> None:
    crew = fleet(ADWATCH_FLEET_INGEST_BATCH="5", ADWATCH_STORE_BATCH_SIZE="5")
    crew.start_workers(2)
    crew.crawl()
    fetched = crew.wait_for(
        lambda s: bool(s.sites) and not any(site.queued or site.in_flight for site in s.sites), "every page fetched"
    )
    assert fetched.items_waiting > 50
    first = crew.start_ingest()
    at_kill = crew.wait_for(lambda s: 0 < s.items_waiting < fetched.items_waiting - 20, "the ingest mid-stream")
    crew.kill(first)
    assert crew.state().items_waiting > 0, at_kill
    crew.start_ingest()
    crew.wait_idle()
    assert stored(crew.db_path) == stored(local_crawl)

"""A real ``redis-server`` per test on a free loopback port, and a fleet of real ``adwatch`` processes over it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from crawler.config import project_settings
from crawler.fleet.config import FleetConfig
from crawler.fleet.queue import FleetQueue
from crawler.fleet.status import FleetState, read_state
from evidence.warc import read_raw_record
from sandbox.server import SandboxWeb
from tests.conftest import REPO, base_url_args, run_adwatch, unavailable
from tests.support.redis_server import RedisServer

#: The sandbox sites the fleet tests crawl: the largest one, so that faults land mid-crawl, and two small ones.
FLEET_SITES = ("mall", "news", "collect")
#: Short leases so that a killed worker's pages come back within seconds.
FAST_LEASES = {"ADWATCH_FLEET_LEASE_SECONDS": "4", "ADWATCH_FLEET_HEARTBEAT": "1"}
WAIT_SECONDS = 240.0


def running_redis(appendonly: bool = False) -> Iterator[RedisServer]:
    """A fresh redis-server for one test (skipped on a machine without one, failed in CI)."""
    if not RedisServer.available():
        unavailable("redis-server is not installed (make setup)")
    server = RedisServer(appendonly=appendonly)
    try:
        yield server.start()
    finally:
        server.remove()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A fresh redis-server, its AOF on (fsync on every write) so that it can be restarted mid-crawl."""
    yield from running_redis(appendonly=True)


class Fleet:
    """Workers and an ingest as real ``adwatch fleet`` processes, one data folder, one Redis."""

    def __init__(self, server: RedisServer, web: SandboxWeb, data_dir: Path, env: dict[str, str]) -> None:
        self.server = server
        self.data_dir = data_dir
        self.env = {
            **os.environ,
            "ADWATCH_DATA_DIR": str(data_dir),
            "ADWATCH_EVIDENCE_ENABLED": "false",
            "ADWATCH_FLEET_URL": server.url,
            "ADWATCH_BASE_URLS": json.dumps(web.base_urls),
            **FAST_LEASES,
            **env,
        }
        self.env.pop("ADWATCH_DB_PATH", None)
        self.workers: list[subprocess.Popen[bytes]] = []
        self.ingests: list[subprocess.Popen[bytes]] = []
        self.queue = FleetQueue(FleetConfig.from_settings(project_settings({"ADWATCH_FLEET_URL": server.url})))

    @property
    def db_path(self) -> Path:
        return self.data_dir / "adwatch.db"

    def _spawn(self, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.data_dir / "fleet.log", "ab")
        return subprocess.Popen([sys.executable, str(REPO / "adwatch.py"), "fleet", *args], cwd=REPO,
                                env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def start_workers(self, count: int, sites: tuple[str, ...] = FLEET_SITES) -> list[subprocess.Popen[bytes]]:
        site_args = [arg for site in sites for arg in ("--site", site)]
        started = [self._spawn("worker", *site_args) for _ in range(count)]
        self.workers += started
        return started

    def start_ingest(self) -> subprocess.Popen[bytes]:
        ingest = self._spawn("ingest")
        self.ingests.append(ingest)
        return ingest

    def crawl(self, sites: tuple[str, ...] = FLEET_SITES) -> None:
        run = run_adwatch(["crawl", *sites, "--fleet", self.server.url], self.data_dir, extra_env=self.env)
        assert run.returncode == 0, run.stderr

    def state(self) -> FleetState:
        return read_state(self.queue)

    def wait_for(self, condition: Callable[[FleetState], bool], what: str) -> FleetState:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            self.check_alive()
            state = self.state()
            if condition(state):
                return state
            time.sleep(0.05)
        raise AssertionError(f"the fleet never got to {what}: {self.state()}; log {self.data_dir / 'fleet.log'}")

    def wait_idle(self) -> FleetState:
        return self.wait_for(lambda s: s.idle and bool(s.sites), "idle")

    def check_alive(self) -> None:
        for process in (*self.workers, *self.ingests):
            code = process.poll()
            if code is not None and code != -signal.SIGKILL:
                log = (self.data_dir / "fleet.log").read_text(errors="replace")[-3000:]
                raise AssertionError(f"a fleet process exited with {code}:\n{log}")

    @staticmethod
    def kill(process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    def stop(self) -> None:
        for process in (*self.workers, *self.ingests):
            if process.poll() is None:
                process.terminate()
        for process in (*self.workers, *self.ingests):
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def fleet(redis_server: RedisServer, web: SandboxWeb, tmp_path: Path) -> Iterator[Callable[..., Fleet]]:
    """Builds the test's fleet (``fleet(**env)``) and stops its processes afterwards."""
    made: list[Fleet] = []

    def make(**env: str) -> Fleet:
        made.append(Fleet(redis_server, web, tmp_path / "fleet", env))
        made[-1].data_dir.mkdir(exist_ok=True)
        return made[-1]

    yield make
    for each in made:
        each.stop()


@pytest.fixture(scope="session")
def local_crawl(web: SandboxWeb, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store of one local crawl of the fleet's sites: what the fleet must store too."""
    data_dir = tmp_path_factory.mktemp("local")
    run = run_adwatch(["crawl", *FLEET_SITES, *base_url_args(web, FLEET_SITES)], data_dir)
    assert run.returncode == 0, run.stderr
    return data_dir / "adwatch.db"


def stored(db_path: Path) -> dict[str, object]:
    """What a store holds, as comparable sets: ads with their versions' content, the hits, the duplicates."""
    with sqlite3.connect(db_path) as db:
        versions = db.execute(
            "SELECT a.canonical_url, v.content_hash FROM ad_versions v JOIN ads a ON a.id = v.ad_id"
        ).fetchall()
        hits = db.execute("SELECT a.canonical_url, h.rule_id FROM hits h JOIN ads a ON a.id = h.ad_id").fetchall()
        ads = db.execute("SELECT canonical_url FROM ads").fetchall()
    return {
        "ads": sorted(set(ads)),
        "versions": sorted(set(versions)),
        "hits": sorted(set(hits)),
        "duplicate_ads": len(ads) - len(set(ads)),
        "duplicate_versions": len(versions) - len(set(versions)),
    }


def seen_counts(db_path: Path) -> set[int]:
    """How many times the ads were stored, as a set: ``{2}`` when every ad was crawled twice, none thrice."""
    with sqlite3.connect(db_path) as db:
        return {count for (count,) in db.execute("SELECT DISTINCT seen_count FROM ads")}


def raw_pages(db_path: Path) -> dict[str, str]:
    """Each stored ad's raw WARC record, read back through its ``raw_ref``: canonical URL → the record's URL."""
    with sqlite3.connect(db_path) as db:
        refs = db.execute("SELECT a.canonical_url, v.raw_ref FROM ad_versions v JOIN ads a ON a.id = v.ad_id")
        return {url: read_raw_record(db_path.parent / "raw", ref).target_uri for url, ref in refs}

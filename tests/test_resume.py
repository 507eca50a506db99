"""A crawl killed with SIGKILL and resumed from its job folder stores the same ads as a crawl never interrupted.

Real crawls of the sandbox's collectibles site (the smallest with enough pages: about 40 pages,
36 ads) by the scheduler's own child process, ``python -m scheduler crawl-one``, killed with
SIGKILL once its frontier (crawler/frontier.py) shows a given number of pages done.  The store
writes ads 8 at a time here, so each kill leaves ads behind that were scraped but never stored.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from crawler.frontier import FRONTIER_FILE, Frontier
from sandbox.server import SandboxWeb
from tests.conftest import REPO, CrawlRun
from tests.test_spider_profile import fetched_paths

SITE = "collect"


#: Seconds between two requests of the crawl: paced so that a kill at a page count lands before the
#: crawl's end even when the test's poll of the frontier is slowed by a loaded machine.
PACE_SECONDS = 0.05


def crawl_env(base_url: str, data_dir: Path) -> dict[str, str]:
    """The crawl's environment: the site at ``base_url``, paced, its data in ``data_dir``; no index, no evidence."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADWATCH_")}
    env.update(
        ADWATCH_DATA_DIR=str(data_dir),
        ADWATCH_BASE_URLS=json.dumps({SITE: base_url}),
        ADWATCH_PROFILE_DIRS=json.dumps([str(paced_profile_dir(data_dir))]),
        ADWATCH_STORE_BATCH_SIZE="8",
        ADWATCH_INDEX_ENABLED="false",
        ADWATCH_EVIDENCE_ENABLED="false",
    )
    return env


def paced_profile_dir(data_dir: Path) -> Path:
    """A folder holding only the sandbox's profile of ``SITE``, with ``PACE_SECONDS`` between requests."""
    profile = yaml.safe_load((REPO / "sandbox" / "profiles" / f"{SITE}.yaml").read_text(encoding="utf-8"))
    profile["politeness"]["download_delay"] = PACE_SECONDS
    folder = data_dir / "profiles"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{SITE}.yaml").write_text(yaml.safe_dump(profile, allow_unicode=True), encoding="utf-8")
    return folder


def start_crawl(web: SandboxWeb, data_dir: Path) -> subprocess.Popen[bytes]:
    """``python -m scheduler crawl-one`` as the scheduler runs it, with its job folder in ``data_dir``."""
    command = [sys.executable, "-m", "scheduler", "crawl-one", SITE, "--jobdir", str(jobdir(data_dir)),
               "--result", str(data_dir / "result.json"), "--log-file", str(data_dir / "crawl.log")]  # fmt: skip
    env = crawl_env(web.base_urls[SITE], data_dir)
    return subprocess.Popen(command, cwd=REPO, env=env, stdin=subprocess.DEVNULL)


def jobdir(data_dir: Path) -> Path:
    return data_dir / "jobs" / SITE


def crawl(web: SandboxWeb, data_dir: Path) -> dict:
    """A crawl run to its end; its figures as the scheduler reads them."""
    (data_dir / "result.json").unlink(missing_ok=True)
    proc = start_crawl(web, data_dir)
    assert proc.wait(timeout=300) == 0, (data_dir / "crawl.log").read_text(errors="replace")[-3000:]
    return json.loads((data_dir / "result.json").read_text(encoding="utf-8"))


def kill_after(web: SandboxWeb, data_dir: Path, pages_done: int) -> None:
    """Start a crawl and SIGKILL it once its frontier has ``pages_done`` pages done."""
    proc = start_crawl(web, data_dir)
    kill_when_done(proc, jobdir(data_dir), pages_done)


def kill_when_done(proc: subprocess.Popen[bytes], job_folder: Path, pages_done: int) -> None:
    """SIGKILL ``proc`` once the frontier in ``job_folder`` has ``pages_done`` pages done."""
    frontier_path = job_folder / FRONTIER_FILE
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if frontier_path.exists() and done_pages(frontier_path) >= pages_done:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    assert proc.wait(timeout=60) == -signal.SIGKILL, "the crawl ended before it could be killed"


def done_pages(path: Path) -> int:
    frontier = Frontier(path)
    try:
        return frontier.counts()["done"]
    except sqlite3.OperationalError:  # the crawl is still creating its tables
        return 0
    finally:
        frontier.close()


def stored_ads(data_dir: Path) -> set[tuple[str, str]]:
    """Each stored ad's canonical URL with the content hash of its current version."""
    path = data_dir / "adwatch.db"
    if not path.exists():
        return set()
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT a.canonical_url, v.content_hash FROM ads a JOIN ad_versions v ON v.id = a.current_version"
        )
        return set(rows.fetchall())


def fetched(data_dir: Path) -> set[str]:
    """The URL paths every crawl into ``data_dir`` fetched, from their WARC archives."""
    return set(fetched_paths(CrawlRun(data_dir, 0, "", "")))


@dataclass(frozen=True)
class Uninterrupted:
    figures: dict
    ads: set[tuple[str, str]]
    fetched: set[str]


@pytest.fixture(scope="module")
def uninterrupted(web: SandboxWeb, tmp_path_factory: pytest.TempPathFactory) -> Uninterrupted:
    data_dir = tmp_path_factory.mktemp("uninterrupted")
    figures = crawl(web, data_dir)
    assert figures["finish_reason"] == "finished"
    return Uninterrupted(figures, stored_ads(data_dir), fetched(data_dir))


# Killed early, every page done so far may still have had its ads in the store's batch: all are fetched again.
KILL_POINTS = [(2, False), (15, True), (30, True)]


@pytest.mark.parametrize(("pages_done", "fetches_fewer"), KILL_POINTS, ids=["early", "middle", "late"])
def test_a_crawl_killed_and_resumed_stores_the_ads_of_an_uninterrupted_crawl(
    web: SandboxWeb, tmp_path: Path, uninterrupted: Uninterrupted, pages_done: int, fetches_fewer: bool
) -> None:
    assert len(uninterrupted.ads) >= 30

    kill_after(web, tmp_path, pages_done)
    assert stored_ads(tmp_path) < uninterrupted.ads  # killed with ads still to crawl or still in the store's batch
    assert jobdir(tmp_path).is_dir()

    resumed = crawl(web, tmp_path)

    assert resumed["finish_reason"] == "finished"
    assert stored_ads(tmp_path) == uninterrupted.ads
    assert fetched(tmp_path) == uninterrupted.fetched  # robots.txt obeyed by the re-issued pages too
    assert 0 < resumed["pages"] <= uninterrupted.figures["pages"]
    if fetches_fewer:  # the pages done, and their ads stored, before the kill were not fetched again
        assert resumed["pages"] < uninterrupted.figures["pages"]


def test_a_second_kill_during_the_resumed_crawl_loses_nothing_either(
    web: SandboxWeb, tmp_path: Path, uninterrupted: Uninterrupted
) -> None:
    kill_after(web, tmp_path, 10)
    kill_after(web, tmp_path, 25)

    assert crawl(web, tmp_path)["finish_reason"] == "finished"
    assert stored_ads(tmp_path) == uninterrupted.ads
    assert fetched(tmp_path) == uninterrupted.fetched

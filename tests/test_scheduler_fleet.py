"""The scheduler in fleet mode: with ADWATCH_FLEET_URL set, a plan's run queues the site's crawl on a real
redis-server for the fleet's workers and crawls nothing on this machine."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.config import project_settings
from crawler.fleet.config import FleetConfig
from crawler.fleet.queue import FleetQueue
from crawler.fleet.status import SiteState, read_state
from crawler.plans import load_plans
from scheduler import JOB_PREFIX, CrawlLauncher, CrawlService, FleetLauncher, ScheduleConfig, known_sites, make_launcher
from tests.conftest import REPO, run_adwatch
from tests.fleet.conftest import running_redis
from tests.support.redis_server import RedisServer

PLAN_DIR = REPO / "sandbox" / "schedules"


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    yield from running_redis()


def _queue(server: RedisServer) -> FleetQueue:
    return FleetQueue(FleetConfig.from_settings(project_settings({"ADWATCH_FLEET_URL": server.url})))


def _crawled_here(data_dir: Path) -> list[str]:
    """What a crawl on this machine leaves: a job folder, a crawl log, a raw archive."""
    return sorted(str(p.relative_to(data_dir)) for p in (*data_dir.glob("jobs/*"), *data_dir.glob("logs/schedule-*"),
                                                         *data_dir.glob("raw/*")))


def _config(data_dir: Path, fleet_url: str) -> ScheduleConfig:
    settings = {"ADWATCH_DATA_DIR": str(data_dir), "ADWATCH_SCHEDULE_DIRS": [str(PLAN_DIR)],
                "ADWATCH_FLEET_URL": fleet_url}
    return ScheduleConfig.from_settings(project_settings(settings))


def test_a_planned_run_queues_the_site_on_the_fleet(redis_server: RedisServer, tmp_path: Path) -> None:
    config = _config(tmp_path, redis_server.url)
    launcher = make_launcher(config)
    assert isinstance(launcher, FleetLauncher)
    service = CrawlService(config, load_plans(config.plan_dirs, known_sites(), config.timezone), launcher)
    try:
        record = service.run_site("news")
        again = service.run_site("hospital")
    finally:
        service.shutdown()
    assert (record.status, again.status) == ("queued", "queued")
    state = read_state(_queue(redis_server))
    assert state.sites == [SiteState("hospital", 1, 0, 0), SiteState("news", 1, 0, 0)]  # each site's start marker
    assert _crawled_here(tmp_path) == []
    [row] = service.runs.history("news")
    assert (row["job_id"], row["status"], row["finish_reason"]) == (JOB_PREFIX + "news", "queued", "fleet")


def test_without_a_fleet_url_runs_crawl_here(tmp_path: Path) -> None:
    assert isinstance(make_launcher(_config(tmp_path, "")), CrawlLauncher)


def test_crawl_now_hands_the_site_to_the_fleet_in_a_real_process(redis_server: RedisServer, tmp_path: Path) -> None:
    env = {"ADWATCH_FLEET_URL": redis_server.url}
    run = run_adwatch(["schedule", "trigger", "collect"], tmp_path, extra_env=env)
    assert run.returncode == 0, run.stderr
    assert "已交给集群" in run.stdout
    queue = _queue(redis_server)
    assert read_state(queue).sites == [SiteState("collect", 1, 0, 0)]
    assert queue.redis.get(queue.key("crawl", "collect")) == b"1"
    history = run_adwatch(["schedule", "history", "--json"], tmp_path, extra_env=env)
    assert [json.loads(line)["status"] for line in history.stdout.splitlines()] == ["queued"]
    assert _crawled_here(tmp_path) == []


def test_a_bad_fleet_url_stops_the_scheduler_at_start(tmp_path: Path) -> None:
    run = run_adwatch(["schedule", "trigger", "collect"], tmp_path, extra_env={"ADWATCH_FLEET_URL": "http://x"})
    assert run.returncode != 0
    assert "ADWATCH_FLEET_URL" in run.stderr and "Traceback" not in run.stderr

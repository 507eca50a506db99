"""``adwatch fleet status`` over a real redis-server, in Chinese and as JSON."""

from __future__ import annotations

import json
from pathlib import Path

from crawler.fleet.queue import Outgoing, Politeness
from tests.conftest import run_adwatch
from tests.fleet.test_queue import queue_on
from tests.support.redis_server import RedisServer


def _queued(server: RedisServer) -> None:
    queue = queue_on(server)
    queue.start_crawl("news")
    free = Politeness(10, 0)
    queue.settle("news", "", [(b"{}", b"")], [Outgoing(f"r{n}".encode(), bytes([n]) * 16) for n in range(3)], free)
    queue.lease("news", free)


def test_status_shows_queues_in_flight_and_waiting_items(redis_server: RedisServer, tmp_path: Path) -> None:
    _queued(redis_server)
    run = run_adwatch(["fleet", "status", "--redis", redis_server.url, "--json"], tmp_path)
    assert run.returncode == 0, run.stderr
    state = json.loads(run.stdout)
    assert state["sites"] == [{"site": "news", "queued": 3, "in_flight": 1, "dead": 0}]
    assert (state["items_waiting"], state["idle"], state["workers"]) == (1, False, [])


def test_status_speaks_chinese(redis_server: RedisServer, tmp_path: Path) -> None:
    _queued(redis_server)
    run = run_adwatch(["fleet", "status", "--redis", redis_server.url], tmp_path, extra_env={"COLUMNS": "200"})
    assert run.returncode == 0, run.stderr
    for words in ("抓取节点", "在线 alive: 0", "站点队列", "news", "待入库广告", "工作中 busy"):
        assert words in run.stdout


def test_status_without_redis_is_one_readable_line(tmp_path: Path) -> None:
    run = run_adwatch(["fleet", "status", "--redis", "redis://127.0.0.1:1/0"], tmp_path)
    assert run.returncode == 1
    assert "无法连接 Redis" in run.stderr and "Traceback" not in run.stderr

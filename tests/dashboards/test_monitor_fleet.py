"""The fleet on the 运行监控 page, over a real redis-server: workers alive with their site and pace, queues per site.

The console is the real app served by uvicorn; the fleet is a real ``adwatch fleet worker`` process crawling a
sandbox site, or a queue filled through FleetQueue as a crawl would fill it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.fleet.queue import Outgoing, Politeness
from dashboards.monitor import fleet_panel
from sandbox.server import SandboxWeb
from tests.dashboards.conftest import serve_console
from tests.fleet.conftest import Fleet, running_redis
from tests.fleet.test_queue import queue_on
from tests.support.redis_server import RedisServer


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    yield from running_redis()


def _monitor_page(data_dir: Path, **settings: object) -> str:
    with serve_console(data_dir, "sqlite", **settings) as console, console.client("chief1") as client:
        page = client.get("/monitor")
    assert page.status_code == 200
    return page.text


def _row(page: str, table: str, key: str, value: str) -> dict[str, str]:
    """The ``data-field`` cells of the row of ``table`` whose ``data-<key>`` is ``value``."""
    body = page.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    row = body.split(f'data-{key}="{value}"', 1)[1].split("</tr>", 1)[0]
    return {name: re.sub(r"<[^>]+>", "", cell).strip()
            for name, cell in re.findall(r'data-field="(\w+)">(.*?)</td>', row)}


def test_the_page_shows_each_sites_queue(redis_server: RedisServer, tmp_path: Path) -> None:
    queue = queue_on(redis_server)
    queue.start_crawl("news")
    free = Politeness(10, 0)
    queue.settle("news", "", [(b"{}", b"")], [Outgoing(f"r{n}".encode(), bytes([n]) * 16) for n in range(3)], free)
    queue.lease("news", free)
    page = _monitor_page(tmp_path, ADWATCH_FLEET_URL=redis_server.url)
    assert _row(page, "fleet-queues", "site", "news") == {"queued": "3", "in_flight": "1", "dead": "0"}
    assert "在线节点 workers alive: <strong>0</strong>" in page and "没有在线的抓取节点" in page
    assert "待入库广告 items waiting for the ingest: <strong>1</strong>" in page


def test_a_working_worker_shows_alive_with_its_site_and_pace(redis_server: RedisServer, web: SandboxWeb,
                                                               tmp_path: Path) -> None:
    fleet = Fleet(redis_server, web, tmp_path / "fleet", {"ADWATCH_FLEET_HEARTBEAT": "0.5"})
    fleet.data_dir.mkdir()
    try:
        fleet.start_workers(1, ("collect",))
        fleet.wait_for(lambda s: len(s.workers) == 1, "a worker up")
        fleet.queue.start_crawl("collect")
        state = fleet.wait_for(lambda s: not s.sites[0].queued and not s.sites[0].in_flight
                               and s.workers[0].pages > 0, "the site fetched")
        page = _monitor_page(tmp_path / "console", ADWATCH_FLEET_URL=redis_server.url)
    finally:
        fleet.stop()
    worker = state.workers[0]
    shown = _row(page, "fleet-workers", "worker", worker.worker)
    assert shown["site"].endswith("（collect）")
    assert int(shown["per_minute"]) > 0 and int(shown["pages"]) >= 1
    assert "在线 alive" in page.split(f'data-worker="{worker.worker}"', 1)[1].split("</tr>", 1)[0]
    assert _row(page, "fleet-queues", "site", "collect") == {"queued": "0", "in_flight": "0", "dead": "0"}


def test_an_unreachable_fleet_is_one_line_on_the_page_not_an_error_page(tmp_path: Path) -> None:
    page = _monitor_page(tmp_path, ADWATCH_FLEET_URL="redis://:secret@127.0.0.1:1/0")
    assert 'id="fleet-error"' in page and "无法读取集群状态" in page
    assert "secret" not in page and "redis://:***@127.0.0.1:1/0" in page
    assert 'id="crawls"' in page  # the rest of the page is there


def test_without_a_fleet_url_the_page_has_no_fleet(tmp_path: Path) -> None:
    assert fleet_panel({}) is None
    assert 'id="fleet"' not in _monitor_page(tmp_path, ADWATCH_FLEET_URL="")

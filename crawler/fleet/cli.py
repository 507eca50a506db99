"""``adwatch fleet``: run a worker or the ingest, and see the fleet's state."""

from __future__ import annotations

import dataclasses
import json

import click
from rich.console import Console
from rich.table import Table

from crawler.config import project_settings
from crawler.exceptions import FleetError
from crawler.fleet.config import FleetConfig

console = Console(highlight=False)

_URL_HELP = "Redis 地址，默认取 ADWATCH_FLEET_URL / the fleet's Redis URL (default: ADWATCH_FLEET_URL)"


def fleet_config(url: str | None) -> FleetConfig:
    """The fleet's settings with ``url`` over ADWATCH_FLEET_URL; a bad one is one readable line."""
    overrides = {"ADWATCH_FLEET_URL": url} if url else {}
    try:
        return FleetConfig.from_settings(project_settings(overrides))
    except FleetError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def fleet() -> None:
    """抓取集群：多台机器的抓取节点共用一个 Redis，由一个入库进程写入。

    The crawl fleet: workers on any number of machines share one Redis; one ingest stores.
    """


@fleet.command()
@click.option("--redis", "url", help=_URL_HELP)
@click.option("--site", "sites", multiple=True, help="只抓这些站点，默认全部 / only these sites (default: all)")
def worker(url: str | None, sites: tuple[str, ...]) -> None:
    """启动抓取节点：从 Redis 领取任意站点的请求并抓取。

    Start a worker: it takes requests for any site from Redis and fetches them.
    """
    from crawler.fleet.worker import run_worker

    run_worker(fleet_config(url).url, sites)


@fleet.command()
@click.option("--redis", "url", help=_URL_HELP)
def ingest(url: str | None) -> None:
    """启动入库进程：读取抓取节点送来的广告，检查、存储、索引（与本地抓取相同）。

    Start the ingest: it normalises, checks, stores and indexes the workers' items as a local crawl does.
    """
    from crawler.fleet.ingest import run_ingest

    run_ingest(fleet_config(url).url)


@fleet.command()
@click.option("--redis", "url", help=_URL_HELP)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出 / print as JSON")
def status(url: str | None, as_json: bool) -> None:
    """显示集群状态：节点是否在线、当前站点、每分钟页数、各站点队列深度。

    Show the fleet: workers alive, current site, pages per minute, queue depth per site.
    """
    import redis

    from crawler.fleet.queue import FleetQueue, connect
    from crawler.fleet.status import read_state

    config = fleet_config(url)
    try:
        state = read_state(FleetQueue(config, connect(config.url, retries=2)))
    except redis.RedisError as exc:
        raise click.ClickException(f"无法连接 Redis / cannot reach Redis: {exc}") from None
    if as_json:
        click.echo(json.dumps({**dataclasses.asdict(state), "idle": state.idle}, ensure_ascii=False))
        return
    workers = Table(title=f"抓取节点 workers（在线 alive: {len(state.workers)}）")
    for column in ("节点 worker", "主机 host", "当前站点 site", "页面 pages", "页/分钟 pages/min", "抓取中 in flight"):
        workers.add_column(column)
    for w in state.workers:
        workers.add_row(w.worker, w.host, w.site or "-", str(w.pages), str(w.per_minute), str(w.in_flight))
    console.print(workers)
    sites = Table(title="站点队列 queues")
    for column in ("站点 site", "排队 queued", "抓取中 in flight", "放弃 dead"):
        sites.add_column(column)
    for s in state.sites:
        sites.add_row(s.site, str(s.queued), str(s.in_flight), str(s.dead))
    console.print(sites)
    done = "空闲 idle" if state.idle else "工作中 busy"
    console.print(f"待入库广告 items waiting for the ingest: {state.items_waiting}  ·  {done}")

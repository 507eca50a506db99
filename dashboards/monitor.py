"""The 运行监控 page's figures: the crawls (live, from ``crawl_monitor``) and each site's health (from ``crawl_runs``).

A site's health is read from its recent runs: when it last crawled to the end
with pages, its error rate, its items per crawl over time, and two flags — the
site failing (its last run fetched nothing, or errors outnumber pages), and the
site changed or gone quiet (its last run fetched pages but found far fewer items
than its recent level: below ``ADWATCH_MONITOR_QUIET_RATIO`` of the median of the
``ADWATCH_MONITOR_RECENT_RUNS`` runs before it).

When the console has a fleet Redis (``ADWATCH_FLEET_URL``), the page also shows the fleet as
``adwatch fleet status`` does: its workers (alive, current site, pages per minute) and each site's queue.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import redis
from jinja2 import pass_context
from jinja2.runtime import Context

from crawler.config import project_settings
from crawler.exceptions import AdWatchError
from crawler.fleet.config import FleetConfig
from crawler.fleet.queue import FleetQueue, connect
from crawler.fleet.status import FleetState, read_state
from crawler.monitor import MonitorConfig, MonitoredRun
from dashboards.services import Services
from dashboards.web import services, templates
from scheduler import launch_crawl

#: What the page calls each crawl state and finish reason.
STATE_LABELS = {"running": "运行中", "stopping": "正在停止", "finished": "已结束", "lost": "失联（进程已退出？）"}
REASON_LABELS = {"finished": "完成", "stopped": "已手动停止", "shutdown": "被中断", "closespider_timeout": "超时"}
BEIJING = ZoneInfo("Asia/Shanghai")
FAILING = "抓取失败"
QUIET = "疑似改版或沉寂"


def start_crawl(console: Services, site: str, actor: str) -> None:
    """Crawl ``site`` now in the background, as the scheduler would by hand (its lease: never twice at once)."""
    if site not in console.sites.titles:
        raise AdWatchError(f"没有这个站点 no such site: {site!r}")
    console.reap()
    console.launched.append(launch_crawl(site, console.config.crawl_env))
    console.db.audit(actor, "crawl.start", site)


def state_label(run: MonitoredRun) -> str:
    """``已结束（已手动停止）``: the crawl's state, and how it ended."""
    label = STATE_LABELS.get(run.state, run.state)
    reason = REASON_LABELS.get(run.finish_reason, run.finish_reason)
    return f"{label}（{reason}）" if reason else label


@dataclass
class SiteHealth:
    site: str
    title: str
    runs: int = 0
    last_run_at: str = ""
    last_ok_at: str = ""
    last_items: int = 0
    usual_items: float = 0.0
    error_rate: float = 0.0
    flags: list[str] = field(default_factory=list)


def _recent_runs(conn: sqlite3.Connection, site: str, limit: int) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM crawl_runs WHERE site = ? ORDER BY finished_at DESC, id DESC LIMIT ?",
                        (site, limit)).fetchall()


def site_health(conn: sqlite3.Connection, titles: dict[str, str], config: MonitorConfig) -> list[SiteHealth]:
    """Every site that has crawled, flagged ones first."""
    sites = [row[0] for row in conn.execute("SELECT DISTINCT site FROM crawl_runs ORDER BY site")]
    health = [_health(conn, site, titles.get(site, site), config) for site in sites]
    return sorted(health, key=lambda h: (not h.flags, h.site))


def _health(conn: sqlite3.Connection, site: str, title: str, config: MonitorConfig) -> SiteHealth:
    runs = _recent_runs(conn, site, config.recent_runs + 1)
    last, before = runs[0], runs[1:]
    ok = conn.execute("SELECT max(finished_at) FROM crawl_runs WHERE site = ? AND finish_reason = 'finished' "
                      "AND pages > 0", (site,)).fetchone()[0]
    pages = sum(run["pages"] for run in runs)
    errors = sum(run["errors"] for run in runs)
    health = SiteHealth(site, title, runs=len(runs), last_run_at=last["finished_at"], last_ok_at=ok or "",
                        last_items=last["items"], error_rate=errors / max(pages, 1))
    health.usual_items = median(run["items"] for run in before) if before else float(last["items"])
    if last["pages"] == 0 or last["errors"] > last["pages"]:
        health.flags.append(FAILING)
    elif before and health.usual_items > 0 and last["items"] < config.quiet_ratio * health.usual_items:
        health.flags.append(QUIET)
    return health


def _wall_time(stamp: str) -> str:
    """Beijing wall time without an offset, which the chart shows as it is whatever the browser's time zone."""
    return datetime.fromisoformat(stamp).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def items_series(conn: sqlite3.Connection, titles: dict[str, str], per_site: int = 30) -> list[dict[str, object]]:
    """Items per crawl over time, one series per site (its latest ``per_site`` runs), for the ECharts chart."""
    series = []
    for (site,) in conn.execute("SELECT DISTINCT site FROM crawl_runs ORDER BY site").fetchall():
        runs = reversed(_recent_runs(conn, site, per_site))
        series.append({"name": titles.get(site, site), "data": [[_wall_time(run["finished_at"]), run["items"]]
                                                                for run in runs]})
    return series


@dataclass(frozen=True)
class FleetPanel:
    """The fleet as the page shows it: its Redis (without a password), its state, or why it could not be read."""

    url: str
    state: FleetState | None = None
    error: str = ""


def fleet_panel(env: Mapping[str, str], timeout: float = 2.0) -> FleetPanel | None:
    """The fleet's state read from the Redis of ``env``'s ADWATCH_FLEET_* settings; ``None`` without a fleet URL."""
    url = env.get("ADWATCH_FLEET_URL", "")
    if not url:
        return None
    shown = _without_password(url)
    try:
        config = FleetConfig.from_settings(project_settings({k: v for k, v in env.items()
                                                             if k.startswith("ADWATCH_FLEET_")}))
        state = read_state(FleetQueue(config, connect(config.url, retries=1, timeout=timeout)))
    except (AdWatchError, redis.RedisError) as exc:
        return FleetPanel(shown, error=str(exc))
    return FleetPanel(shown, state)


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:" if parts.username else ":"
    return urlunsplit(parts._replace(netloc=f"{user}***@{host}"))


@pass_context
def _page_fleet(context: Context) -> FleetPanel | None:
    """For the monitor page's template: the fleet of the console's settings."""
    return fleet_panel(services(context["request"]).config.crawl_env)


templates.globals["page_fleet"] = _page_fleet

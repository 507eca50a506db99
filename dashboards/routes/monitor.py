"""运行监控: the crawls running and finished with their live log, starting and stopping a crawl, each site's health."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from crawler.exceptions import AdWatchError
from crawler.monitor import MonitoredRun, read_log
from dashboards.monitor import items_series, site_health, start_crawl, state_label
from dashboards.web import redirect, render, require, require_post, services

router = APIRouter()


def _run(request: Request, run_id: int) -> MonitoredRun:
    run = services(request).monitor.run(run_id)
    if run is None:
        raise HTTPException(404, "没有这次抓取 no such crawl")
    return run


@router.get("/monitor")
async def monitor(request: Request) -> Response:
    require(request, "monitor")
    console = services(request)
    titles = console.sites.titles
    return render(request, "monitor.html", runs=console.monitor.runs(), titles=titles,
                  health=site_health(console.store.conn, titles, console.config.monitor),
                  series=items_series(console.store.conn, titles), started=request.query_params.get("started", ""),
                  settings=console.config.monitor, state_label=state_label)


@router.get("/monitor/live")
async def live(request: Request) -> Response:
    """The crawls as JSON, for the page to refresh its figures."""
    require(request, "monitor")
    return JSONResponse({"runs": [run.as_json() for run in services(request).monitor.runs()]})


@router.get("/monitor/runs/{run_id}")
async def run_page(request: Request, run_id: int) -> Response:
    require(request, "monitor")
    run = _run(request, run_id)
    title = services(request).sites.titles.get(run.site, run.site)
    return render(request, "monitor_run.html", run=run, title=title, state_label=state_label)


@router.get("/monitor/runs/{run_id}/log")
async def run_log(request: Request, run_id: int) -> Response:
    """The log's lines after ``offset`` (the last 64 KB on a first read) and the crawl's figures now."""
    require(request, "monitor")
    run = _run(request, run_id)
    try:
        offset = max(0, int(request.query_params.get("offset", "0")))
    except ValueError:
        offset = 0
    chunk = read_log(_log_path(request, run), offset)
    return JSONResponse({"lines": chunk.lines, "offset": chunk.offset, "run": run.as_json(),
                         "state_label": state_label(run)})


def _log_path(request: Request, run: MonitoredRun) -> Path:
    """The run's log, only if it lies inside the monitor's log folder."""
    folder = services(request).config.monitor.log_dir.resolve()
    path = Path(run.log_path).resolve()
    return path if path.is_relative_to(folder) else folder / "missing.log"


@router.post("/monitor/crawls")
async def start(request: Request) -> Response:
    session, form = await require_post(request, "monitor")
    site = str(form.get("site", ""))
    start_crawl(services(request), site, session.user.username)
    return redirect(f"/monitor?started={quote(site)}")


@router.post("/monitor/runs/{run_id}/stop")
async def stop_crawl(request: Request, run_id: int) -> Response:
    session, _ = await require_post(request, "monitor")
    console = services(request)
    if not console.monitor.request_stop(run_id, session.user.username):
        raise AdWatchError("这次抓取不在运行中 that crawl is not running")
    console.db.audit(session.user.username, "crawl.stop", str(run_id))
    return redirect(f"/monitor/runs/{run_id}")

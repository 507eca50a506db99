"""抓取计划: the plans in plain Chinese, calendars of the crawls due, and the jobs; edit, pause, resume, trigger.

Edits are written to the plan files only if every plan stays valid; the running
scheduler follows them at its next poll, without a restart.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from apscheduler.jobstores.base import JobLookupError
from fastapi import APIRouter, Request
from fastapi.responses import Response

from crawler.exceptions import AdWatchError, PlanError
from crawler.plans import PlanSet, load_plans, save_plan
from dashboards.monitor import start_crawl
from dashboards.plans import calendars, edit_from_form, plan_entries, service_state
from dashboards.web import redirect, render, require, require_post, services
from scheduler import JOB_PREFIX, STATUS_LABELS, job_store

router = APIRouter()


def _plans(request: Request) -> tuple[PlanSet | None, str]:
    config = services(request).config.schedule
    try:
        return load_plans(config.plan_dirs, services(request).sites.groups, config.timezone), ""
    except PlanError as exc:
        return None, str(exc)


def _page(request: Request, status_code: int = 200, error: str = "", form: dict | None = None) -> Response:
    console = services(request)
    config = console.config.schedule
    now = datetime.now(config.timezone)
    plans, invalid = _plans(request)
    with job_store(console.schedule_engine, config.timezone) as scheduler:
        jobs = {job.id.removeprefix(JOB_PREFIX): job.next_run_time for job in scheduler.get_jobs()}
    triggers = plans.triggers() if plans else {}
    sites = [{"site": site, "title": console.sites.titles.get(site, site), "job": site in jobs,
              "next_run": jobs.get(site), "planned": trigger.get_next_fire_time(None, now),
              "plan": trigger.plan_at(now)} for site, trigger in sorted(triggers.items())]
    return render(request, "plans.html", status_code=status_code, plans=plans.plans if plans else (),
                  invalid=invalid, entries=plan_entries(config.plan_dirs) if plans else {}, sites=sites,
                  calendars=calendars(plans, now) if plans else [], titles=console.sites.titles,
                  state=service_state(console.runs.service_state(), config, now), poll=config.poll_seconds,
                  error=error, form=form or {}, saved=request.query_params.get("saved", ""),
                  history=console.runs.history(limit=20), RUN_STATUS=STATUS_LABELS)


@router.get("/plans")
async def plans_page(request: Request) -> Response:
    require(request, "plans")
    return _page(request)


@router.post("/plans")
async def save(request: Request) -> Response:
    """Add a plan, or rewrite the one named in ``replaces``; refused with every problem named if any plan would
    become invalid."""
    session, form = await require_post(request, "plans")
    config = services(request).config.schedule
    try:
        edit = edit_from_form(form)
        path = save_plan(config.plan_dirs, edit, services(request).sites.groups, config.timezone)
    except PlanError as exc:
        return _page(request, status_code=409, error=str(exc), form=form)
    services(request).db.audit(session.user.username, "plan.save", edit.entry["id"], f"{path.name}: {edit.entry}")
    return redirect(f"/plans?saved={quote(edit.entry['id'])}")


async def _set_paused(request: Request, site: str, paused: bool) -> Response:
    session, _ = await require_post(request, "plans")
    console = services(request)
    with job_store(console.schedule_engine, console.config.schedule.timezone) as scheduler:
        try:
            (scheduler.pause_job if paused else scheduler.resume_job)(JOB_PREFIX + site)
        except JobLookupError:
            raise AdWatchError(f"该站点还没有定时任务（调度服务尚未运行？） no job for site {site!r}") from None
    console.db.audit(session.user.username, "plan.pause" if paused else "plan.resume", site)
    return redirect("/plans#jobs")


@router.post("/plans/sites/{site}/pause")
async def pause(request: Request, site: str) -> Response:
    return await _set_paused(request, site, paused=True)


@router.post("/plans/sites/{site}/resume")
async def resume(request: Request, site: str) -> Response:
    return await _set_paused(request, site, paused=False)


@router.post("/plans/sites/{site}/trigger")
async def trigger(request: Request, site: str) -> Response:
    """Crawl the site now (the scheduler's lease: never while it is being crawled); watch it on 运行监控."""
    session, _ = await require_post(request, "plans")
    start_crawl(services(request), site, session.user.username)
    return redirect(f"/monitor?started={quote(site)}")

"""Cases for the inspection corps: chiefs approve or return transfer requests; inspectors read and export them."""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from dashboards.accounts import Session
from dashboards.cases import Case
from dashboards.detail import hit_view
from dashboards.routes.review import screenshot_response
from dashboards.web import attachment, capture_first, redirect, render, require, require_post, services
from evidence.export import export_bundle

router = APIRouter()


def _visible_statuses(session: Session) -> tuple[str, ...]:
    """Chiefs see every case; the inspection corps sees the approved ones only."""
    return () if session.user.can("approve") else ("approved", "closed")


def _mine(session: Session, case: Case) -> bool:
    """An inspector's cases are those assigned to them (承办); chiefs see every case."""
    return session.user.role != "inspector" or case.inspector == session.user.username


def _case_or_404(request: Request, session: Session, case_no: str) -> Case:
    case = services(request).workflow.case(case_no[:64])
    visible = _visible_statuses(session)
    if case is None or (visible and case.status not in visible):
        raise HTTPException(404, "没有该案件 no such case")
    if not _mine(session, case):
        raise HTTPException(403, "该案件由其他稽查人员承办 the case is another inspector's")
    return case


@router.get("/cases")
async def case_list(request: Request) -> Response:
    session = require(request, "cases")
    console = services(request)
    cases = [case for case in console.workflow.cases(_visible_statuses(session)) if _mine(session, case)]
    hits = {case.case_no: console.backend.get_hit(case.hit_id) for case in cases}
    sizes = {case.case_no: len(console.workflow.case_hit_ids(case.case_no)) for case in cases}
    inspectors = [u for u in console.accounts.list("inspector") if u.active] if session.user.can("approve") else []
    return render(request, "cases.html", cases=cases, hits=hits, case_sizes=sizes, inspectors=inspectors)


@router.get("/cases/{case_no}")
async def case_detail(request: Request, case_no: str) -> Response:
    session = require(request, "cases")
    console = services(request)
    case = _case_or_404(request, session, case_no)
    hit = console.backend.get_hit(case.hit_id)
    if hit is None:
        raise HTTPException(404, "案件的命中已不在索引中 the case's hit is no longer indexed")
    return render(request, "detail.html", view=hit_view(console, hit), case=case, read_only=True, reasons={},
                  case_leads=console.workflow.case_leads(case.case_no), site_titles=console.sites.titles,
                  dispositions=console.workflow.dispositions(case.case_no), kinds=console.catalog.dispositions,
                  penalty_kind=console.catalog.penalty_disposition,
                  site_title=console.sites.titles.get(hit["site"], hit["site"]))


@router.get("/cases/{case_no}/screenshot.png")
async def case_screenshot(request: Request, case_no: str) -> Response:
    session = require(request, "cases")
    case = _case_or_404(request, session, case_no)
    return screenshot_response(request, services(request).workflow.case_hit_ids(case.case_no))


@router.post("/cases/{case_no}/approve")
async def approve(request: Request, case_no: str) -> Response:
    session, form = await require_post(request, "approve")
    workflow = services(request).workflow
    await capture_first(request, workflow.case_hit_ids(case_no[:64]))
    workflow.approve(session.user, case_no, str(form.get("inspector", ""))[:64])
    return redirect("/cases")


@router.post("/cases/{case_no}/reject")
async def reject(request: Request, case_no: str) -> Response:
    session, form = await require_post(request, "approve")
    services(request).workflow.reject(session.user, case_no, str(form.get("note", ""))[:500])
    return redirect("/cases")


@router.post("/cases/{case_no}/dispositions")
async def dispose(request: Request, case_no: str) -> Response:
    """Record a 处置 on the case (the chief, or the inspector it is assigned to)."""
    session, form = await require_post(request, "cases")
    case = _case_or_404(request, session, case_no)
    services(request).workflow.dispose(session.user, case.case_no, str(form.get("kind", "")),
                                       str(form.get("document_no", ""))[:60], str(form.get("amount", ""))[:20],
                                       str(form.get("note", ""))[:500])
    return redirect(f"/cases/{quote(case.case_no)}")


@router.get("/cases/{case_no}/evidence.zip")
async def export_case(request: Request, case_no: str) -> Response:
    """The case's evidence bundle (packages, PDF report, custody record, manifest), made on request."""
    session = require(request, "cases")
    console = services(request)
    case = _case_or_404(request, session, case_no)
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "bundle.zip"
        # In a worker thread: the export opens its own connections and drives Chromium with its own event loop.
        register = console.workflow.register  # the logged-in account is the operator; custody names the people
        await run_in_threadpool(export_bundle, console.config.evidence, register.hit_ids(case.case_no), output,
                                register.display_name(session.user.username), case.case_no,
                                register.custody_people(case.case_no))
        data = output.read_bytes()
    console.db.audit(session.user.username, "case.export", case.case_no)
    return Response(data, media_type="application/zip",
                    headers={"Content-Disposition": attachment(f"案件-{case.case_no}.zip")})

"""The reviewer's pages: the queue of ads, an ad's page and its decisions, full-text search, statistics and CSV."""

from __future__ import annotations

import re

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from dashboards.decisions import DecisionError
from dashboards.detail import SCREENSHOT, hit_view, lead_evidence, package_member
from dashboards.exports import queue_csv
from dashboards.queue import QueueFilter, search_leads
from dashboards.stats import chart_data
from dashboards.web import attachment, capture_first, redirect, render, require, require_post, services
from indexer.backend import AD_SORTS, AdQuery
from rules.engine import ARTICLE_KEYS

router = APIRouter()
HIT_ID = re.compile(r"[0-9a-f]{1,64}")


def _hit_or_404(request: Request, hit_id: str) -> dict:
    hit = services(request).backend.get_hit(hit_id[:64])
    if hit is None:
        raise HTTPException(404, "没有该命中 no such hit")
    return hit


@router.get("/queue")
async def queue(request: Request) -> Response:
    session = require(request, "review")
    console = services(request)
    filters = QueueFilter.from_params(dict(request.query_params))
    size = console.config.page_size
    results = search_leads(console, filters, session.user.username, size)
    pages = max(1, -(-results.total // size))
    hit_ids = [hit_id for lead in results.leads for hit_id in lead.hit_ids]
    return render(request, "queue.html", filters=filters, results=results, pages=pages,
                  assignees=console.workflow.assignees(hit_ids), sites=console.sites, articles=ARTICLE_KEYS,
                  reviewers=[u for u in console.accounts.list() if u.role in ("reviewer", "chief") and u.active],
                  reasons=console.catalog.dismiss_reasons)


@router.post("/queue/bulk")
async def bulk(request: Request) -> Response:
    session, form = await require_post(request, "review")
    console = services(request)
    ids = form.get("hit_id") or []
    hit_ids = [ids] if isinstance(ids, str) else list(ids)
    if not hit_ids:
        raise DecisionError("请先勾选广告 select ads first")
    if form.get("action") == "assign":
        if not session.user.can("assign"):
            raise HTTPException(403, "只有科长/处长可以分配 only a chief assigns work")
        assignee = console.accounts.get(str(form.get("assignee", "")))
        if assignee is None:
            raise DecisionError("请选择审核员 choose a reviewer")
        console.workflow.assign(session.user, hit_ids, assignee)
    elif form.get("action") == "dismiss":
        refused = console.workflow.dismiss_many(session.user, hit_ids, str(form.get("reason_code", "")),
                                                str(form.get("note", ""))[:500])
        if len(refused) == len(hit_ids):
            raise DecisionError("排除须选择理由，且不能排除已移送的广告 choose a reason; transferred ads stay")
    else:
        raise DecisionError("未知的批量操作 unknown bulk action")
    return redirect("/queue?" + str(form.get("back", ""))[:2000])


@router.get("/hits/{hit_id}")
async def detail(request: Request, hit_id: str) -> Response:
    require(request, "review")
    console = services(request)
    view = hit_view(console, _hit_or_404(request, hit_id))
    return render(request, "detail.html", view=view, reasons=console.catalog.dismiss_reasons,
                  inspectors=[u for u in console.accounts.list("inspector") if u.active],
                  site_title=console.sites.titles.get(view["hit"]["site"], view["hit"]["site"]), read_only=False)


@router.post("/hits/{hit_id}/decision")
async def decide(request: Request, hit_id: str) -> Response:
    """The decision on the ad of ``hit_id``; with ``scope=hit``, an override for that hit alone."""
    session, form = await require_post(request, "review")
    hit = _hit_or_404(request, hit_id)
    workflow = services(request).workflow
    decide = workflow.decide if form.get("scope") == "hit" else workflow.decide_ad
    decide(session.user, hit["hit_id"], str(form.get("action", "")), str(form.get("reason_code", "")),
           str(form.get("note", ""))[:500])
    back = str(form.get("back", ""))
    return redirect(f"/hits/{back if HIT_ID.fullmatch(back) else hit['hit_id']}")


@router.post("/hits/{hit_id}/transfer")
async def transfer(request: Request, hit_id: str) -> Response:
    session, form = await require_post(request, "review")
    hit = _hit_or_404(request, hit_id)
    await capture_first(request, services(request).workflow.lead_of(hit["hit_id"]).hit_ids)
    services(request).workflow.request_transfer(session.user, hit["hit_id"], str(form.get("case_no", "")),
                                                str(form.get("inspector", ""))[:64], str(form.get("note", ""))[:500],
                                                join=form.get("join") == "1")
    return redirect(f"/hits/{hit['hit_id']}")


def screenshot_response(request: Request, hit_ids: list[str]) -> Response:
    _, package = lead_evidence(services(request), hit_ids)
    data = package_member(package, SCREENSHOT) if package else None
    if data is None:
        raise HTTPException(404, "没有截图 no screenshot")
    return Response(data, media_type="image/png")


@router.get("/hits/{hit_id}/screenshot.png")
async def screenshot(request: Request, hit_id: str) -> Response:
    require(request, "review")
    hit = _hit_or_404(request, hit_id)
    return screenshot_response(request, [hit["hit_id"], *services(request).workflow.lead_of(hit["hit_id"]).hit_ids])


@router.get("/returns")
async def returns(request: Request) -> Response:
    """我的退回: the reviewer's transfer requests a chief returned, with the reason."""
    session = require(request, "review")
    console = services(request)
    cases = console.workflow.returned(session.user.username)
    hits = {case.case_no: console.backend.get_hit(case.hit_id) for case in cases}
    return render(request, "returns.html", cases=cases, hits=hits)


#: The search page's orders, labelled.
SORT_LABELS = {"relevance": "相关度", "time": "抓取时间（新者在前）", "risk": "风险（高者在前）"}


def _ad_query(filters: QueueFilter, sort: str, size: int) -> AdQuery:
    """The ad search behind the search page: the queue's filter fields, one value each."""
    def one(value: str) -> tuple[str, ...]:
        return (value,) if value else ()

    return AdQuery(text=filters.q, sites=one(filters.site), categories=one(filters.category),
                   articles=one(filters.article), statuses=one(filters.status), day_from=filters.day_from,
                   day_to=filters.day_to, sort=sort, size=size, offset=(filters.page - 1) * size)


@router.get("/search")
async def search(request: Request) -> Response:
    require(request, "review")
    console = services(request)
    params = dict(request.query_params)
    filters = QueueFilter.from_params({**params, "status": params.get("status", "")})
    sort = params.get("sort", "") if params.get("sort") in AD_SORTS else "relevance"
    query = _ad_query(filters, sort, console.config.page_size)
    results = console.backend.search_ads(query) if query.text.strip() or query.filtered else None
    pages = max(1, -(-results.total // query.size)) if results else 1
    return render(request, "search.html", filters=filters, sort=sort, results=results, pages=pages,
                  sites=console.sites, articles=ARTICLE_KEYS, sorts=SORT_LABELS)



@router.get("/stats")
async def stats(request: Request) -> Response:
    require(request, "review")
    console = services(request)
    day_from, day_to = request.query_params.get("day_from", ""), request.query_params.get("day_to", "")
    filters = QueueFilter.from_params({"day_from": day_from, "day_to": day_to})
    data = chart_data(console, filters.day_from, filters.day_to)
    return render(request, "stats.html", data=data, filters=filters)


@router.get("/export/queue.csv")
async def export_csv(request: Request) -> Response:
    session = require(request, "review")
    filters = QueueFilter.from_params(dict(request.query_params))
    # Built here, not streamed: a streamed body is iterated in another thread, away from the store's connection.
    body = "".join(queue_csv(services(request), filters, session.user.username))
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": attachment("待审队列.csv")})

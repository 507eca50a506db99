"""Accounts and the audit log, for administrators (and the audit log for chiefs)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from dashboards.queue import page_number
from dashboards.web import redirect, render, require, require_post, services

router = APIRouter()


@router.get("/users")
async def users(request: Request) -> Response:
    require(request, "users")
    return render(request, "users.html", users=services(request).accounts.list())


@router.post("/users")
async def add_user(request: Request) -> Response:
    session, form = await require_post(request, "users")
    services(request).accounts.add(str(form.get("username", "")).strip(), str(form.get("password", "")),
                                   str(form.get("role", "")), str(form.get("display_name", "")).strip()[:64],
                                   actor=session.user.username)
    return redirect("/users")


@router.post("/users/{username}/disable")
async def disable_user(request: Request, username: str) -> Response:
    session, _ = await require_post(request, "users")
    services(request).accounts.set_active(username, False, actor=session.user.username)
    return redirect("/users")


@router.post("/users/{username}/enable")
async def enable_user(request: Request, username: str) -> Response:
    session, _ = await require_post(request, "users")
    services(request).accounts.set_active(username, True, actor=session.user.username)
    return redirect("/users")


@router.post("/users/{username}/password")
async def reset_password(request: Request, username: str) -> Response:
    session, form = await require_post(request, "users")
    services(request).accounts.reset_password(username, str(form.get("password", "")), actor=session.user.username)
    return redirect("/users")


@router.get("/audit")
async def audit(request: Request) -> Response:
    require(request, "audit")
    page = page_number(request.query_params)
    entries = services(request).db.audit_entries(limit=100, offset=(page - 1) * 100)
    return render(request, "audit.html", entries=entries, page=page)

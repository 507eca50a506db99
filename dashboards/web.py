"""What every route shares: the autoescaping templates, the session guard, CSRF checks and the display filters."""

from __future__ import annotations

import hmac
import re
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool

from dashboards.accounts import ROLES, Session
from dashboards.cases import CASE_STATUS_LABELS
from dashboards.catalog import CATEGORY_NAMES
from dashboards.decisions import ACTION_LABELS, AUDIT_LABELS, STATUS_LABELS
from dashboards.services import Services
from indexer.highlight import MARK_END, MARK_START

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
SESSION_COOKIE = "adwatch_session"
BEIJING = ZoneInfo("Asia/Shanghai")
SEVERITY_LABELS = {"high": "高", "medium": "中", "low": "低"}


class LoginRequired(Exception):
    """No live session: the handler in app.py sends the browser to the login page."""


def marked(text: str | None) -> Markup:
    """Escape ``text`` (crawled, hostile), then turn the backend's highlight markers into ``<mark>``."""
    escaped = str(escape(text or ""))
    opened = escaped.count(MARK_START)
    if opened != escaped.count(MARK_END):
        escaped = escaped.replace(MARK_START, "").replace(MARK_END, "")
    return Markup(escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>"))


@lru_cache(maxsize=4096)
def beijing_time(value: str | None) -> str:
    """An ISO timestamp (UTC or with offset) as Beijing time, ``2026-11-11 08:00``."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def safe_link(url: str | None) -> str:
    """Only http(s) links are rendered as links; anything else (``javascript:``, ``data:``) becomes inert."""
    if url and urlsplit(url).scheme in ("http", "https"):
        return url
    return "#"


def attachment(filename: str) -> str:
    """A Content-Disposition for a download named ``filename`` (Chinese welcome): RFC 6266 with the RFC 5987
    ``filename*`` every current browser uses, and an ASCII ``filename`` for the rest."""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


#: Where a rule's explanation first pauses: its name ends there.
_CLAUSE_END = re.compile(r"[。；;，,（(]")


def rule_name(explanation: str | None) -> str:
    """A rule's name as a reviewer reads it: the first clause of its explanation (the rulebook's own words)."""
    first = _CLAUSE_END.split(explanation or "", maxsplit=1)[0]
    return first if len(first) <= 24 else first[:23] + "…"


@pass_context
def person(context: Context, username: str | None) -> str:
    """An account's display name (姓名) in place of its log-in name, where the page knows it."""
    names = context.get("names") or {}
    return names.get(username or "", username or "")


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(marked=marked, beijing=beijing_time, safe_link=safe_link, urlquote=lambda s: quote(str(s)),
                       person=person, rule_name=rule_name)
    env.globals.update(ROLES=ROLES, STATUS_LABELS=STATUS_LABELS, CASE_STATUS_LABELS=CASE_STATUS_LABELS,
                       ACTION_LABELS=ACTION_LABELS, AUDIT_LABELS=AUDIT_LABELS,
                       CATEGORY_LABELS=CATEGORY_NAMES, SEVERITY_LABELS=SEVERITY_LABELS)
    return env


templates = _environment()


def services(request: Request) -> Services:
    return request.app.state.services


def session_of(request: Request) -> Session | None:
    return services(request).accounts.session(request.cookies.get(SESSION_COOKIE))


def require(request: Request, capability: str | None = None) -> Session:
    """The request's session; LoginRequired without one, 403 if its role lacks ``capability``."""
    session = session_of(request)
    if session is None:
        raise LoginRequired()
    if capability and not session.user.can(capability):
        raise HTTPException(403, "您的角色无权进行此操作 your role may not do this")
    request.state.session = session
    return session


async def require_post(request: Request, capability: str) -> tuple[Session, dict[str, Any]]:
    """A state-changing request: session, capability, and the form's CSRF token must match the session's."""
    session = require(request, capability)
    form = await request.form()
    token = str(form.get("csrf_token", ""))
    if not hmac.compare_digest(token.encode(), session.csrf_token.encode()):
        raise HTTPException(403, "表单已失效，请刷新页面后重试 CSRF token missing or wrong")
    return session, {key: form.getlist(key) if len(form.getlist(key)) > 1 else form.get(key) for key in form}


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    session = getattr(request.state, "session", None)
    names = services(request).accounts.display_names() if session else {}
    page = templates.get_template(template).render(request=request, session=session, user=session and session.user,
                                                    path=request.url.path, names=names, **context)
    return HTMLResponse(page, status_code=status_code)


def redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def local_path(next_url: str | None, default: str = "/") -> str:
    """A redirect target that stays on this site (no scheme, no host, no ``//``)."""
    if not next_url or not next_url.startswith("/") or next_url.startswith("//") or "\\" in next_url:
        return default
    return next_url


async def capture_first(request: Request, hit_ids: list[str]) -> None:
    """Capture the evidence a transfer needs before the workflow asks for it, in a worker thread (it drives
    Chromium): the workflow then finds it, and the event loop is never held up by a browser."""
    console = services(request)
    missing = console.workflow.missing_evidence(hit_ids)
    if missing and console.workflow.capture is not None:
        await run_in_threadpool(console.workflow.capture, missing)

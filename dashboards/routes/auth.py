"""Logging in and out.  The login form carries its own CSRF token (a double-submit cookie), as no session exists yet."""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from dashboards.web import (
    SESSION_COOKIE,
    STATIC,
    local_path,
    redirect,
    render,
    require,
    require_post,
    services,
    session_of,
)

router = APIRouter()
LOGIN_CSRF_COOKIE = "adwatch_login_csrf"


def home_of(capabilities: dict[str, bool]) -> str:
    """Where a role lands after logging in."""
    for capability, path in (("review", "/queue"), ("cases", "/cases"), ("users", "/users")):
        if capabilities[capability]:
            return path
    return "/audit"


def _login_page(request: Request, error: str = "", status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", status_code=status_code, error=error, login_csrf=token,
                      next=local_path(request.query_params.get("next"), ""))
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login",
                        secure=services(request).config.secure_cookie)
    return response


@router.get("/login")
async def login_form(request: Request) -> Response:
    if session_of(request) is not None:
        return redirect("/")
    return _login_page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), str(form.get("login_csrf", "")).encode()):
        return _login_page(request, "登录表单已失效，请重试 the form expired, please try again", 400)
    console = services(request)
    username = str(form.get("username", "")).strip()[:64]
    client = request.client.host if request.client else "?"
    if console.accounts.throttled(username, client):
        return _login_page(request, "登录失败次数过多，请稍后再试 too many failed logins, try again later", 429)
    user = console.accounts.authenticate(username, str(form.get("password", "")), client)
    if user is None:
        return _login_page(request, "用户名或密码错误 wrong user name or password", 401)
    token = console.accounts.open_session(user)
    caps = {name: user.can(name) for name in ("review", "cases", "users")}
    response = redirect(local_path(str(form.get("next", "")), home_of(caps)))
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=console.config.secure_cookie,
                        max_age=int(console.config.session_hours * 3600))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await require_post(request, "")
    services(request).accounts.close_session(request.cookies.get(SESSION_COOKIE))
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/")
async def home(request: Request) -> Response:
    user = require(request).user
    return redirect(home_of({name: user.can(name) for name in ("review", "cases", "users")}))


#: The console's own scripts, served to logged-in users only (no CDN: the intranet has none).
ASSETS = {"console.js": "text/javascript", "echarts.min.js": "text/javascript", "monitor.js": "text/javascript"}


@router.get("/static/{name}")
async def asset(request: Request, name: str) -> Response:
    require(request)
    if name not in ASSETS:
        raise HTTPException(404, "未找到 not found")
    return Response((STATIC / name).read_bytes(), media_type=ASSETS[name],
                    headers={"Cache-Control": "private, max-age=3600"})

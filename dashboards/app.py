"""The review console (审核台): a FastAPI app with server-rendered, autoescaped Jinja2 pages.

``create_app`` builds it from the settings; ``adwatch serve`` runs it under
uvicorn.  Handlers are ``async`` and call the (synchronous) stores directly,
so every database connection stays on the event loop's thread.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from crawler.exceptions import AdWatchError, EngineUnavailable
from dashboards.config import ConsoleConfig
from dashboards.routes import admin, auth, cases, monitor, plans, reports, review
from dashboards.services import Services
from dashboards.web import LoginRequired, redirect, render

#: No inline or foreign scripts, no framing, no plug-ins: a second line of defence behind escaping.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                                "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
                                "frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

#: Every page and form of the console (tests/dashboards/test_roles.py holds each one to its role table).
ROUTERS = tuple(module.router for module in (auth, review, cases, reports, admin, monitor, plans))


class ResponseHeaders(BaseHTTPMiddleware):
    """The security headers on every response, and ``Server-Timing``: how long the console took (for operators
    and ``bench/bench_console.py``)."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        return response


def create_app(config: ConsoleConfig) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = Services(config)
        try:
            yield
        finally:
            app.state.services.close()

    app = FastAPI(title="AdWatch 审核台", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(ResponseHeaders)
    for router in ROUTERS:
        app.include_router(router)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return redirect(f"/login?next={quote(target, safe='')}")

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        messages = {403: "无权访问 Forbidden", 404: "未找到 Not found", 405: "不支持的请求 Method not allowed"}
        return render(request, "error.html", status_code=exc.status_code,
                      title=messages.get(exc.status_code, "出错了 Error"), detail=str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> Response:
        return render(request, "error.html", status_code=400, title="请求有误 Bad request",
                      detail=str(exc.errors()[:3]))

    @app.exception_handler(AdWatchError)
    async def _adwatch_error(request: Request, exc: AdWatchError) -> Response:
        if isinstance(exc, EngineUnavailable):
            return render(request, "error.html", status_code=503, title="搜索引擎暂不可用 Search engine unavailable",
                          detail=f"{exc}（审核结论未丢失：请稍后重试 nothing was lost; try again shortly）")
        return render(request, "error.html", status_code=409, title="无法完成 Could not be done", detail=str(exc))

    return app

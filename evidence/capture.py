"""Open a flagged page in the evidence browser: full-page screenshot, rendered DOM, and how it was served.

A page that never finishes loading is captured as far as it got, with a note
saying so; every browser step has a deadline, so capture never hangs.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from evidence.browser import SharedBrowser

if TYPE_CHECKING:
    from playwright.async_api import Page, Response

logger = logging.getLogger(__name__)

VIEWPORT = {"width": 1280, "height": 900}
#: Chromium cannot paint a screenshot taller than this; longer pages are cut there.
MAX_SCREENSHOT_HEIGHT = 16000


@dataclass
class PageCapture:
    """What the evidence browser saw at ``url``."""

    url: str
    started: datetime
    finished: datetime | None = None
    screenshot: bytes = b""
    dom: str = ""
    final_url: str = ""
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    server_ip: str = ""
    tls: dict[str, Any] = field(default_factory=dict)
    redirect_chain: list[str] = field(default_factory=list)
    user_agent: str = ""
    browser_version: str = ""
    complete: bool = False
    notes: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        """The capture as plain JSON (without the screenshot and DOM bytes)."""
        return {
            "requested_url": self.url,
            "final_url": self.final_url,
            "redirect_chain": self.redirect_chain,
            "status": self.status,
            "server_ip": self.server_ip,
            "response_headers": self.headers,
            "tls": self.tls,
            "user_agent": self.user_agent,
            "browser": f"Chromium {self.browser_version}" if self.browser_version else "",
            "loaded_completely": self.complete,
            "screenshot": bool(self.screenshot),
            "notes": self.notes,
        }


async def capture_page(shared: SharedBrowser, url: str, timeout: float, screenshot: bool = True) -> PageCapture:
    """Load ``url`` (waiting at most ``timeout`` s for it to finish), then screenshot it and keep its DOM."""
    capture = PageCapture(url=url, started=datetime.now(UTC))
    try:
        async with shared.context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai") as context:
            page = await context.new_page()
            capture.browser_version = context.browser.version if context.browser else ""
            capture.user_agent = await page.evaluate("navigator.userAgent")
            response = await _load(page, url, timeout, capture)
            if response is not None:
                await _describe_response(response, capture)
            await _snapshot(page, timeout, screenshot, capture)
            await page.close()
    except Exception as exc:  # noqa: BLE001 — a browser failure leaves a note, never loses the hit
        logger.warning("Evidence browser failed on %s: %s", url, exc)
        capture.notes.append(f"取证浏览器出错 evidence browser failed: {type(exc).__name__}: {exc}")
    capture.finished = datetime.now(UTC)
    return capture


async def _load(page: Page, url: str, timeout: float, capture: PageCapture) -> Response | None:
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    first: list[Response] = []
    page.on("response", lambda r: first.append(r) if r.request.is_navigation_request() and not first else None)
    try:
        response = await page.goto(url, wait_until="load", timeout=timeout * 1000)
        capture.complete = True
        return response
    except PlaywrightTimeout:
        capture.notes.append(
            f"页面在 {timeout:g} 秒内未完成加载，按当时状态截取 page did not finish loading in {timeout:g} s;"
            " captured as far as it got"
        )
    return await _final_response(first)


async def _final_response(responses: list[Response]) -> Response | None:
    """After a timeout: the last response of the navigation that did arrive, if any."""
    if not responses:
        return None
    response = responses[0]
    while True:
        follow = await response.request.redirected_to.response() if response.request.redirected_to else None
        if follow is None:
            return response
        response = follow


async def _describe_response(response: Response, capture: PageCapture) -> None:
    capture.final_url = response.url
    capture.status = response.status
    capture.headers = await response.all_headers()
    address = await response.server_addr()
    capture.server_ip = address["ipAddress"] if address else ""
    capture.tls = dict(await response.security_details() or {})
    chain, request = [], response.request.redirected_from
    while request is not None:
        chain.append(request.url)
        request = request.redirected_from
    capture.redirect_chain = [*reversed(chain), response.url]


async def _snapshot(page: Page, timeout: float, screenshot: bool, capture: PageCapture) -> None:
    deadline = timeout * 1000
    if screenshot:
        height = await asyncio.wait_for(page.evaluate("document.documentElement.scrollHeight"), timeout)
        if height > MAX_SCREENSHOT_HEIGHT:
            capture.notes.append(f"页面过长，截图截至 {MAX_SCREENSHOT_HEIGHT}px page cut at {MAX_SCREENSHOT_HEIGHT}px")
            clip = {"x": 0, "y": 0, "width": VIEWPORT["width"], "height": MAX_SCREENSHOT_HEIGHT}
            capture.screenshot = await page.screenshot(clip=clip, full_page=True, timeout=deadline)
        else:
            capture.screenshot = await page.screenshot(full_page=True, timeout=deadline, animations="disabled")
    capture.dom = await asyncio.wait_for(page.content(), timeout)

"""Rendering glue: pages marked ``render: js`` go through Chromium via scrapy-playwright.

Rendering is opt-in per request: the spider marks a request with
``meta={"adwatch_render": True, "adwatch_render_wait": RenderWait(...)}`` and
``crawler.middlewares.render.RenderMiddleware`` turns that into scrapy-playwright's
meta keys.  Everything else stays plain HTTP.

The Playwright download handler is installed only in crawlers whose profile renders
(``install_rendering``), with the system Chromium (``executable_path``; a browser
download is never used) and the flags a closed network needs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from scrapy.settings import BaseSettings

from crawler.exceptions import RenderError
from crawler.profiles import RenderWait

if TYPE_CHECKING:
    from playwright.async_api import Page
    from playwright.async_api import Request as PlaywrightRequest

logger = logging.getLogger(__name__)

META_KEY = "adwatch_render"
WAIT_META_KEY = "adwatch_render_wait"
NOTES_META_KEY = "adwatch_render_notes"
HANDLER = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
# Resource types Playwright reports (playwright.dev/python/docs/api/class-request#request-resource-type).
RESOURCE_TYPES = frozenset(
    "document stylesheet image media font script texttrack xhr fetch eventsource websocket manifest other".split()
)
CONTEXT_KWARGS = {"locale": "zh-CN", "timezone_id": "Asia/Shanghai"}

# Scroll down screen by screen to the bottom (so lazy content scrolled past still loads), for at
# most ``budget`` ms (a page may grow as fast as it is scrolled); resolve to the page height reached.
_SCROLL_THROUGH = """async (budget) => {
  const end = Date.now() + budget;
  const pause = () => new Promise(r => requestAnimationFrame(() => setTimeout(r, 50)));
  for (let y = window.scrollY; y < document.documentElement.scrollHeight && Date.now() < end;
       y += window.innerHeight) {
    window.scrollTo(0, y);
    await pause();
  }
  window.scrollTo(0, document.documentElement.scrollHeight);
  await pause();
  return document.documentElement.scrollHeight;
}"""
_HEIGHT = "() => document.documentElement.scrollHeight"
_GREW = "h => document.documentElement.scrollHeight > h"


@dataclass(frozen=True)
class RenderConfig:
    """The ``ADWATCH_RENDER_*`` settings, read once; contradictions are rejected at start-up."""

    enabled: bool
    executable_path: str
    browser_args: tuple[str, ...]
    abort_resource_types: frozenset[str]
    max_contexts: int
    max_pages_per_context: int
    context_page_limit: int
    navigation_timeout: float
    wait_timeout: float
    retry_times: int

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> RenderConfig:
        config = cls(
            enabled=settings.getbool("ADWATCH_RENDER_ENABLED"),
            executable_path=settings.get("ADWATCH_RENDER_EXECUTABLE_PATH") or "",
            browser_args=tuple(settings.getlist("ADWATCH_RENDER_BROWSER_ARGS")),
            abort_resource_types=frozenset(settings.getlist("ADWATCH_RENDER_ABORT_RESOURCE_TYPES")),
            max_contexts=settings.getint("ADWATCH_RENDER_MAX_CONTEXTS"),
            max_pages_per_context=settings.getint("ADWATCH_RENDER_MAX_PAGES_PER_CONTEXT"),
            context_page_limit=settings.getint("ADWATCH_RENDER_CONTEXT_PAGE_LIMIT"),
            navigation_timeout=settings.getfloat("ADWATCH_RENDER_NAVIGATION_TIMEOUT"),
            wait_timeout=settings.getfloat("ADWATCH_RENDER_WAIT_TIMEOUT"),
            retry_times=settings.getint("ADWATCH_RENDER_RETRY_TIMES"),
        )
        config.validate()
        return config

    def validate(self) -> None:
        problems = [*self._limit_problems(), *self._browser_problems()]
        if problems:
            raise RenderError("渲染设置有误 / invalid render settings: " + "; ".join(problems))

    def _limit_problems(self) -> list[str]:
        problems = []
        for name in ("max_contexts", "max_pages_per_context", "context_page_limit"):
            if getattr(self, name) < 1:
                problems.append(f"ADWATCH_RENDER_{name.upper()} must be at least 1")
        for name in ("navigation_timeout", "wait_timeout"):
            if getattr(self, name) <= 0:
                problems.append(f"ADWATCH_RENDER_{name.upper()} must be positive")
        if self.retry_times < 0:
            problems.append("ADWATCH_RENDER_RETRY_TIMES must not be negative")
        unknown = sorted(self.abort_resource_types - RESOURCE_TYPES)
        if unknown:
            problems.append(f"ADWATCH_RENDER_ABORT_RESOURCE_TYPES has unknown types {unknown}")
        if "document" in self.abort_resource_types:
            problems.append("ADWATCH_RENDER_ABORT_RESOURCE_TYPES cannot abort 'document' (the page itself)")
        return problems

    def _browser_problems(self) -> list[str]:
        if not self.enabled:
            return []
        path = Path(self.executable_path)
        if not self.executable_path or not path.is_file():
            return [
                f"Chromium not found at ADWATCH_RENDER_EXECUTABLE_PATH={self.executable_path!r} "
                "(install it with `make setup`, i.e. Debian's chromium package)"
            ]
        return []

    def playwright_settings(self) -> dict[str, object]:
        """The scrapy-playwright settings this configuration stands for."""
        return {
            "DOWNLOAD_HANDLERS": {"http": HANDLER, "https": HANDLER},
            "PLAYWRIGHT_BROWSER_TYPE": "chromium",
            "PLAYWRIGHT_LAUNCH_OPTIONS": {
                "executable_path": self.executable_path,
                "headless": True,
                "args": list(self.browser_args),
            },
            "PLAYWRIGHT_MAX_CONTEXTS": self.max_contexts,
            "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": self.max_pages_per_context,
            "PLAYWRIGHT_ABORT_REQUEST": AbortResources(self.abort_resource_types),
            "PLAYWRIGHT_RESTART_DISCONNECTED_BROWSER": True,
        }


def install_rendering(settings: BaseSettings, site: str) -> bool:
    """Install the Playwright download handler into one crawler's ``settings``; False if rendering is off."""
    config = RenderConfig.from_settings(settings)
    if not config.enabled:
        logger.warning("Site %s renders JavaScript but ADWATCH_RENDER_ENABLED is off: plain HTTP only", site)
        return False
    settings.setdict(config.playwright_settings(), priority="spider")
    return True


def rendering_installed(settings: BaseSettings) -> bool:
    handlers = settings.getwithbase("DOWNLOAD_HANDLERS")
    return HANDLER in (handlers.get("http"), handlers.get("https"))


@dataclass(frozen=True)
class AbortResources:
    """``PLAYWRIGHT_ABORT_REQUEST``: abort sub-resources of the listed types (images, fonts, media)."""

    resource_types: frozenset[str]

    def __call__(self, request: PlaywrightRequest) -> bool:
        return request.resource_type in self.resource_types


@dataclass
class RenderOutcome:
    """What waiting on a page found: the steps that ran out of time, as notes for the record."""

    timeout: float
    timed_out: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.timed_out

    @property
    def notes(self) -> list[str]:
        if self.complete:
            return []
        steps = ", ".join(self.timed_out)
        return [
            f"页面未在 {self.timeout:g} 秒内完成（{steps}），已按当时状态采集 / "
            f"page not finished within {self.timeout:g} s ({steps}); captured as far as it got"
        ]


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def ms(self) -> float:
        """Milliseconds left, at least 1 (Playwright reads 0 as "no timeout")."""
        return max(1.0, (self.end - time.monotonic()) * 1000)


async def wait_for_page(page: Page, wait: RenderWait, default_timeout: float) -> RenderOutcome:
    """Wait for what ``wait`` asks, all within one time budget; never raises on a timeout.

    A page whose own script blocks its renderer can still hold up an evaluation: callers
    bound the whole capture too (see ``RenderMiddleware``).
    """
    outcome = RenderOutcome(timeout=wait.timeout or default_timeout)
    deadline = _Deadline(outcome.timeout)
    if wait.selector:
        await _bounded(outcome, "selector", page.wait_for_selector(wait.selector, state="attached",
                                                                   timeout=deadline.ms()))  # fmt: skip
    if wait.scroll:
        await _scroll(page, wait, deadline)
    await _bounded(outcome, "load", page.wait_for_load_state("load", timeout=deadline.ms()))
    if wait.network_idle and outcome.complete:
        await _bounded(outcome, "network_idle", page.wait_for_load_state("networkidle", timeout=deadline.ms()))
    if not outcome.complete:
        await _stop_loading(page)
    return outcome


def _playwright_timeout() -> type[Exception]:
    from playwright.async_api import TimeoutError as PlaywrightTimeoutError

    return PlaywrightTimeoutError


def _playwright_error() -> type[Exception]:
    from playwright.async_api import Error as PlaywrightError

    return PlaywrightError


async def _bounded(outcome: RenderOutcome, step: str, waiting: Awaitable[object]) -> None:
    try:
        await waiting
    except _playwright_timeout():
        outcome.timed_out.append(step)


async def _scroll(page: Page, wait: RenderWait, deadline: _Deadline) -> None:
    """Scroll through the page up to ``wait.scroll`` times; stop once a round adds nothing."""
    previous = await page.evaluate(_HEIGHT)
    for _ in range(wait.scroll):
        reached = await page.evaluate(_SCROLL_THROUGH, deadline.ms())
        if not await _grows(page, reached, min(deadline.ms(), wait.scroll_pause * 1000)) and reached == previous:
            return
        previous = reached


async def _grows(page: Page, height: int, timeout_ms: float) -> bool:
    try:
        await page.wait_for_function(_GREW, arg=height, timeout=timeout_ms, polling=100)
    except _playwright_timeout():
        return False
    return True


async def _stop_loading(page: Page) -> None:
    """Stop whatever is still loading, so the captured DOM no longer changes under us."""
    try:
        await page.evaluate("window.stop()")
    except _playwright_error() as exc:
        logger.debug("window.stop() failed on %s: %s", page.url, exc)


def is_browser_gone(exc: BaseException) -> bool:
    """Whether ``exc`` says the page, its context or the whole browser went away (crash, kill)."""
    if not isinstance(exc, _playwright_error()):
        return False
    message = str(exc)
    return any(
        sign in message
        for sign in ("has been closed", "Target closed", "crashed", "Browser closed", "Connection closed")
    )


async def close_quietly(target: object) -> None:
    """Close a page or context, ignoring one that is already gone."""
    try:
        await asyncio.wait_for(target.close(), timeout=10)  # type: ignore[attr-defined]
    except (_playwright_error(), TimeoutError) as exc:
        logger.debug("Closing %r: %s", target, exc)

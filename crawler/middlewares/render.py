"""Downloader middleware: render requests marked ``adwatch_render`` in Chromium.

The spider marks a request with ``meta={"adwatch_render": True, "adwatch_render_wait":
RenderWait(...)}``; this middleware hands it to scrapy-playwright (which navigates until
the response commits and passes the page on), waits on the page as the profile says
within a time budget, captures the DOM, and closes the page, then, once a retired
context has no page left, the context.  A page still loading when the time is up is
captured as far as it got and noted in ``response.meta["adwatch_render_notes"]``.
A request whose browser crashed or was killed is retried; scrapy-playwright starts a
new browser.  Requests not marked go through plain HTTP.

Only active in crawlers where ``crawler.render.install_rendering`` installed the
Playwright download handler.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response, TextResponse

from crawler.profiles import RenderWait
from crawler.render import (
    CONTEXT_KWARGS,
    META_KEY,
    NOTES_META_KEY,
    WAIT_META_KEY,
    RenderConfig,
    RenderOutcome,
    close_quietly,
    is_browser_gone,
    rendering_installed,
    wait_for_page,
)

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page

logger = logging.getLogger(__name__)

RETRIES_META_KEY = "adwatch_render_retries"
# Seconds a capture may take beyond its wait budget (page.content(), a hung renderer) before it is given up.
CAPTURE_GRACE = 10.0


@dataclass
class ContextRotation:
    """Spreads rendered pages over named browser contexts, retiring each after ``limit`` pages.

    A retired context is closed once its last page has closed, so that what a context
    accumulates (cache, storage, renderer memory) does not grow over a long crawl.
    """

    prefix: str
    limit: int
    generation: int = 0
    assigned: int = 0
    open_pages: Counter[str] = field(default_factory=Counter)
    contexts: dict[str, BrowserContext] = field(default_factory=dict)

    @property
    def current(self) -> str:
        return f"{self.prefix}-{self.generation}"

    def assign(self) -> str:
        if self.assigned >= self.limit:
            self.generation += 1
            self.assigned = 0
        self.assigned += 1
        self.open_pages[self.current] += 1
        return self.current

    def seen(self, name: str, context: BrowserContext) -> None:
        self.contexts[name] = context

    def release(self, name: str) -> BrowserContext | None:
        """One page of ``name`` is done; the context to close if it was retired and is now idle."""
        self.open_pages[name] -= 1
        if name == self.current or self.open_pages[name] > 0:
            return None
        del self.open_pages[name]
        return self.contexts.pop(name, None)


class RenderMiddleware:
    def __init__(self, crawler: Crawler, config: RenderConfig) -> None:
        self.stats = crawler.stats
        self.config = config
        self.rotation = ContextRotation(prefix="adwatch", limit=config.context_page_limit)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RenderMiddleware:
        if not rendering_installed(crawler.settings):
            raise NotConfigured("no page of this crawl renders JavaScript")
        return cls(crawler, RenderConfig.from_settings(crawler.settings))

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if not request.meta.get(META_KEY):
            return
        request.meta.pop("playwright_page", None)
        request.meta.update(
            playwright=True,
            playwright_include_page=True,
            playwright_context=self.rotation.assign(),
            playwright_context_kwargs=CONTEXT_KWARGS,
            playwright_page_goto_kwargs={"wait_until": "commit", "timeout": self.config.navigation_timeout * 1000},
        )

    async def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response | Request:
        page: Page | None = request.meta.pop("playwright_page", None)
        if page is None:
            return response
        try:
            outcome, html, url = await self._capture(page, request.meta.get(WAIT_META_KEY) or RenderWait())
        except Exception as exc:
            retry = self._retry(request, exc) if is_browser_gone(exc) else None
            if retry is None:
                raise
            return retry
        finally:
            await self._page_done(request, page)
        self._record(request, outcome)
        return response.replace(url=url, body=_encode(html, response))

    async def process_exception(
        self, request: Request, exception: BaseException, spider: Spider | None = None
    ) -> Request | None:
        if not request.meta.get("playwright"):
            return None
        page: Page | None = request.meta.pop("playwright_page", None)
        await self._page_done(request, page)
        return self._retry(request, exception) if is_browser_gone(exception) else None

    async def _capture(self, page: Page, wait: RenderWait) -> tuple[RenderOutcome, str, str]:
        """Wait as asked, then take the DOM; a renderer that stops answering fails the request, never hangs it."""
        budget = (wait.timeout or self.config.wait_timeout) + CAPTURE_GRACE
        try:
            async with asyncio.timeout(budget):
                outcome = await wait_for_page(page, wait, self.config.wait_timeout)
                return outcome, await page.content(), page.url
        except TimeoutError:
            self.stats.inc_value("adwatch/render/hung")
            raise TimeoutError(f"page did not answer within {budget:g} s (renderer busy or hung)") from None

    async def _page_done(self, request: Request, page: Page | None) -> None:
        """Close the page, then its context if that was retired and this was its last page."""
        name = request.meta.get("playwright_context", "")
        if page is not None:
            self.rotation.seen(name, page.context)
            await close_quietly(page)
        retired = self.rotation.release(name)
        if retired is not None:
            await close_quietly(retired)
            self.stats.inc_value("adwatch/render/context_closed")

    def _record(self, request: Request, outcome: RenderOutcome) -> None:
        self.stats.inc_value("adwatch/render/page_count")
        if outcome.complete:
            return
        request.meta[NOTES_META_KEY] = outcome.notes
        self.stats.inc_value("adwatch/render/incomplete")
        for step in outcome.timed_out:
            self.stats.inc_value(f"adwatch/render/wait_timeout/{step}")
        logger.warning("Captured %s before it finished loading (%s)", request.url, ", ".join(outcome.timed_out),
                       extra={"url": request.url})  # fmt: skip

    def _retry(self, request: Request, exc: BaseException) -> Request | None:
        retries = request.meta.get(RETRIES_META_KEY, 0) + 1
        if retries > self.config.retry_times:
            self.stats.inc_value("adwatch/render/retry/max_reached")
            logger.error("Gave up rendering %s after %d browser failures: %s", request.url, retries - 1, exc)
            return None
        self.stats.inc_value("adwatch/render/retry/browser_gone")
        logger.warning("Browser gone while rendering %s (%s); retry %d of %d", request.url,
                       str(exc).splitlines()[0], retries, self.config.retry_times)  # fmt: skip
        retry = request.replace(dont_filter=True)
        retry.meta[RETRIES_META_KEY] = retries
        return retry


def _encode(html: str, response: Response) -> bytes:
    encoding = response.encoding if isinstance(response, TextResponse) else "utf-8"
    return html.encode(encoding, errors="xmlcharrefreplace")

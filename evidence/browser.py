"""One system Chromium per process, shared by every crawler in it, through Playwright.

Never a browser download: the executable is the system Chromium (Debian's
``chromium`` package), started with the flags a closed network needs and a
fresh profile (Playwright gives every launch its own temporary user-data-dir).
The browser starts on first use and stops when the last user releases it; a
crashed browser is started again on the next use, one that cannot start at
all is not tried again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from crawler.config import project_settings
from crawler.exceptions import EvidenceError

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Playwright

logger = logging.getLogger(__name__)

# The same closed-network flags as the rendering browser (one setting, ADWATCH_RENDER_BROWSER_ARGS).
CLOSED_NETWORK_FLAGS = tuple(project_settings().getlist("ADWATCH_RENDER_BROWSER_ARGS"))


class SharedBrowser:
    """A lazily started Chromium with a bound on pages open at once, reference-counted by its users."""

    def __init__(self, executable: str, concurrency: int) -> None:
        self.executable = executable
        self.slots = asyncio.Semaphore(concurrency)
        self.users = 0
        self._lock = asyncio.Lock()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._failure: EvidenceError | None = None

    async def browser(self) -> Browser:
        async with self._lock:
            if self._failure is not None:
                raise self._failure
            if self._browser is None or not self._browser.is_connected():
                await self._shutdown()
                await self._launch()
            assert self._browser is not None
            return self._browser

    async def _launch(self) -> None:
        from playwright.async_api import async_playwright

        self._playwright = await async_playwright().start()
        try:
            self._browser = await self._playwright.chromium.launch(
                executable_path=self.executable,
                headless=True,
                args=list(CLOSED_NETWORK_FLAGS),
            )
        except Exception as exc:
            await self._shutdown()
            self._failure = EvidenceError(f"Cannot start Chromium at {self.executable}: {exc}")
            raise self._failure from exc
        logger.info("Evidence browser started: Chromium %s", self._browser.version)

    @asynccontextmanager
    async def context(self, **options: object) -> AsyncIterator[BrowserContext]:
        """A fresh browser context, one of at most ``concurrency`` at once, closed after use."""
        async with self.slots:
            context = await (await self.browser()).new_context(**options)
            try:
                yield context
            finally:
                await _quietly_close(context)

    async def close(self) -> None:
        async with self._lock:
            await self._shutdown()

    async def _shutdown(self) -> None:
        if self._browser is not None:
            await _quietly_close(self._browser)
        if self._playwright is not None:
            await self._playwright.stop()
        self._browser = self._playwright = None


async def _quietly_close(closable: Browser | BrowserContext) -> None:
    try:
        await closable.close()
    except Exception as exc:  # noqa: BLE001 — closing a crashed browser must not fail the crawl
        logger.debug("Ignoring error while closing %r: %s", closable, exc)


_shared: dict[str, SharedBrowser] = {}


def acquire(executable: str, concurrency: int) -> SharedBrowser:
    """The process's browser for ``executable``, with one more user."""
    shared = _shared.setdefault(executable, SharedBrowser(executable, concurrency))
    shared.users += 1
    return shared


async def release(shared: SharedBrowser) -> None:
    """One user fewer; the last one out stops the browser."""
    shared.users -= 1
    if shared.users <= 0:
        _shared.pop(shared.executable, None)
        await shared.close()


def require_chromium(path: str | None, setting: str) -> str:
    if not path or not Path(path).exists():
        raise EvidenceError(
            f"未找到 Chromium / Chromium not found ({setting}); install Debian's chromium package (`make setup`)"
        )
    return path

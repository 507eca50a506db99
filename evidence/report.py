"""The PDF 取证报告 (evidence report), in Chinese, printed by Chromium from an autoescaped Jinja template.

Crawled content is hostile: every piece of it goes through Jinja's escaping,
the page is printed with JavaScript off, and every network request the
page might try is refused (the screenshot travels inline as a data: URI).
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from evidence.browser import SharedBrowser

STATUS_LABELS = {
    "ok": "完整 complete",
    "partial": "部分 partial",
    "missing": "证据缺失 evidence missing",
    "none": "未取证 not captured",
}


@dataclass
class ReportEntry:
    """One ad version in the report, with the exported hits on it."""

    title: str
    url: str
    site: str
    fetched_at: str
    document: str
    hits: list[dict[str, Any]]
    status: str = "none"
    note: str = ""
    package: str = ""
    source: Path | None = None
    manifest_sha256: str = ""
    record: dict[str, Any] | None = None
    screenshot: bytes = b""
    package_files: list[dict[str, Any]] = field(default_factory=list)

    @property
    def hit_count(self) -> int:
        return len(self.hits)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def segments(self) -> list[tuple[str, bool]]:
        return highlight(self.document, [(hit["start"], hit["end"], hit["matched"]) for hit in self.hits])

    @property
    def screenshot_uri(self) -> str:
        if not self.screenshot:
            return ""
        return "data:image/png;base64," + base64.b64encode(self.screenshot).decode("ascii")


def highlight(text: str, spans: list[tuple[int, int, str]]) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, highlighted) around the hit spans; a span whose offsets drifted is found by text."""
    ranges = sorted(_locate(text, start, end, matched) for start, end, matched in spans)
    segments, position = [], 0
    for start, end in ranges:
        if end <= position or start >= end:
            continue
        start = max(start, position)
        if start > position:
            segments.append((text[position:start], False))
        segments.append((text[start:end], True))
        position = end
    if position < len(text):
        segments.append((text[position:], False))
    return segments


def _locate(text: str, start: int, end: int, matched: str) -> tuple[int, int]:
    if text[start:end] == matched or not matched:
        return start, end
    found = text.find(matched)
    return (found, found + len(matched)) if found >= 0 else (0, 0)


def render_html(entries: list[ReportEntry], custody: dict[str, Any], files: list[dict[str, Any]]) -> str:
    environment = Environment(loader=PackageLoader("evidence", "templates"), autoescape=select_autoescape(default=True))
    return environment.get_template("report.html").render(entries=entries, custody=custody, files=files)


async def print_pdf(html: str, executable: str) -> bytes:
    """``html`` printed to A4 PDF by Chromium, with scripts off and the network refused."""
    shared = SharedBrowser(executable, concurrency=1)
    try:
        async with shared.context(java_script_enabled=False, offline=True) as context:
            await context.route("**/*", lambda route: route.abort())
            page = await context.new_page()
            await page.set_content(html, wait_until="load")
            return await page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    finally:
        await shared.close()


def render_pdf(html: str, executable: str) -> bytes:
    return asyncio.run(print_pdf(html, executable))

"""Bad input: evidence storage unwritable (hits kept, marked missing), a page that never finishes loading."""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from evidence.browser import SharedBrowser
from evidence.capture import capture_page
from sandbox.server import SandboxWeb
from tests.conftest import base_url_args, run_adwatch
from tests.evidence.conftest import query, requires_chromium

pytestmark = requires_chromium


def test_unwritable_evidence_storage_keeps_hits_marked_missing(web: SandboxWeb, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a regular file where the evidence folder's parent should be")
    env = {
        "ADWATCH_EVIDENCE_ENABLED": "true",
        "ADWATCH_EVIDENCE_DIR": str(blocker / "evidence"),
        "ADWATCH_EVIDENCE_SITES": '["collect"]',
        "ADWATCH_EVIDENCE_SCREENSHOT_ENABLED": "false",
    }
    run = run_adwatch(["crawl", "collect", *base_url_args(web, ("collect",))], tmp_path / "data", env)
    assert run.returncode == 0, run.stderr
    db = tmp_path / "data" / "adwatch.db"
    hits = query(db, "SELECT id FROM hits")
    assert hits
    marks = query(db, "SELECT status, note FROM evidence e JOIN hits h ON h.id = e.hit_id")
    assert len(marks) == len(hits)
    assert {status for status, _ in marks} == {"missing"}
    assert all("evidence not stored" in note for _, note in marks)


@pytest.fixture
def never_loads() -> Iterator[str]:
    """A page that sends its visible part, then never finishes (the connection stays open)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    open_connections: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            connection.recv(65536)
            connection.sendall(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
                "<html><body><h1>国家级 最佳 降血压 永不加载完的页面</h1>".encode()
            )
            open_connections.append(connection)

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/never"
    server.close()
    for connection in open_connections:
        connection.close()


def test_page_that_never_finishes_loading_is_captured_as_far_as_it_got(never_loads: str) -> None:
    async def capture():
        shared = SharedBrowser(shutil.which("chromium") or "chromium", concurrency=1)
        try:
            return await capture_page(shared, never_loads, timeout=2.0)
        finally:
            await shared.close()

    started = time.monotonic()
    result = asyncio.run(capture())
    assert time.monotonic() - started < 30
    assert result.complete is False
    assert any("未完成加载" in note for note in result.notes)
    assert result.screenshot.startswith(b"\x89PNG")
    assert "降血压" in result.dom
    assert result.status == 200

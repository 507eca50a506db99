"""``adwatch serve`` starts the console for real: the login page answers, everything else wants a login."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import REPO
from tests.support.engines import free_port


def test_adwatch_serve_answers_with_the_login_page(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "ADWATCH_DATA_DIR": str(tmp_path), "ADWATCH_CONSOLE_PORT": str(port)}
    server = subprocess.Popen([sys.executable, str(REPO / "adwatch.py"), "serve"], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        response = None
        for _ in range(300):
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/login", timeout=5)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                time.sleep(0.1)
        assert response is not None and response.status_code == 200
        assert "登录" in response.text and "csrf" in response.text
        queue = httpx.get(f"http://127.0.0.1:{port}/queue", timeout=5)
        assert queue.status_code == 303 and queue.headers["location"].startswith("/login")
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "尚无账号" in output  # an empty console tells the operator how to add the first account

"""Shared fixtures: the real sandbox web on free ports, and real crawls of it by the real CLI."""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NoReturn

import pytest

from sandbox.server import SITES, SandboxWeb
from tests.support.engines import ElasticsearchNode, EngineNode, OpenSearchNode

REPO = Path(__file__).resolve().parents[1]

#: In CI (``CI=true``) nothing is skipped: a test that cannot run because Chromium, a search engine or
#: the saved real pages are missing fails instead, so a green run means that every test ran.
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(reason: str, *, module: bool = False) -> NoReturn:
    """Skip for ``reason`` on a developer's machine; fail in CI."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a test that cannot run fails)", pytrace=False)
    pytest.skip(reason, allow_module_level=module)


def skip_unless(available: bool, reason: str) -> pytest.MarkDecorator:
    """A ``skipif`` mark that never skips in CI: there the test runs and fails on what it lacks."""
    return pytest.mark.skipif(not available and not IN_CI, reason=reason)


@dataclass
class CrawlRun:
    data_dir: Path
    returncode: int
    stdout: str
    stderr: str

    @property
    def db_path(self) -> Path:
        return self.data_dir / "adwatch.db"

    def json(self) -> dict:
        return json.loads(self.stdout)


def run_adwatch(
    args: list[str], data_dir: Path, extra_env: dict[str, str] | None = None, timeout: float = 240
) -> CrawlRun:
    """Run the real ``adwatch`` CLI in a subprocess with its data under ``data_dir``."""
    # Evidence capture (a browser visit per flagged page) is on by default; tests that need it turn it on.
    env = {**os.environ, "ADWATCH_DATA_DIR": str(data_dir), "ADWATCH_EVIDENCE_ENABLED": "false", **(extra_env or {})}
    env.pop("ADWATCH_DB_PATH", None)
    proc = subprocess.run(
        [sys.executable, str(REPO / "adwatch.py"), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return CrawlRun(data_dir, proc.returncode, proc.stdout, proc.stderr)


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler for a test's own small site: ``answer`` writes a whole response; no access log."""

    def answer(self, status: int, body: bytes = b"", content_type: str = "text/html", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def local_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on a free loopback port for the duration of the block; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def held_port(port: int = 0) -> Iterator[int]:
    """Listen on ``port`` (0: a free one) for the block and yield it; a port another program holds is as busy."""
    with socket.socket() as holder:
        try:
            holder.bind(("127.0.0.1", port))
            holder.listen()
        except OSError as exc:
            assert exc.errno == errno.EADDRINUSE, exc
            yield port
            return
        yield holder.getsockname()[1]


def base_url_args(web: SandboxWeb, sites: tuple[str, ...] = SITES) -> list[str]:
    args = []
    for site in sites:
        args += ["--base-url", f"{site}={web.base_urls[site]}"]
    return args


@pytest.fixture(scope="session")
def web() -> Iterator[SandboxWeb]:
    """Every sandbox site, on free local ports, for the whole test session."""
    with SandboxWeb(port_base=None, slow_seconds=1.0) as sandbox:
        yield sandbox


@pytest.fixture(scope="session")
def crawled(web: SandboxWeb, tmp_path_factory: pytest.TempPathFactory) -> CrawlRun:
    """One real crawl of every sandbox site into a fresh data folder."""
    data_dir = tmp_path_factory.mktemp("crawl")
    # Evidence (a browser capture per flagged page) only for the smallest site: tests/evidence reads it.
    evidence_env = {"ADWATCH_EVIDENCE_ENABLED": "true", "ADWATCH_EVIDENCE_SITES": '["collect"]'}
    run = run_adwatch(["crawl", *SITES, *base_url_args(web)], data_dir, extra_env=evidence_env)
    assert run.returncode == 0, run.stderr
    return run


#: JVM start-up flags for the test nodes: C1 only starts faster; throughput does not matter here.
FAST_START = "-XX:TieredStopAtLevel=1"

#: The real search engines every engine test runs against, by their ``ADWATCH_INDEX`` name.
ENGINES = ("opensearch", "es")


def session_node(node: EngineNode) -> Iterator[EngineNode]:
    try:
        yield node.start()
    finally:
        node.remove()


@pytest.fixture(scope="session")
def opensearch_node() -> Iterator[EngineNode]:
    """A real OpenSearch 2.19 node for the session: fetched from Maven Central on first use, on a free port."""
    yield from session_node(OpenSearchNode(java_opts=FAST_START))


@pytest.fixture(scope="session")
def es_node() -> Iterator[EngineNode]:
    """A real Elasticsearch 8.19 node for the session: fetched from Maven Central on first use, on a free port."""
    yield from session_node(ElasticsearchNode(java_opts=FAST_START))


@pytest.fixture(params=ENGINES)
def engine_node(request: pytest.FixtureRequest) -> EngineNode:
    """Each real engine's session node in turn."""
    return request.getfixturevalue(f"{request.param}_node")

"""The review console served for real: a copy of the session crawl, uvicorn on a free port, Debian's Chromium.

``console`` is parametrised by backend: the SQLite store as crawled, or the same
data indexed into the session's real OpenSearch or Elasticsearch node.  Each test gets its own
copy of the data, its own console database and one user per role.
"""

from __future__ import annotations

import itertools
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from crawler.config import project_settings
from dashboards.accounts import Accounts
from dashboards.app import create_app
from dashboards.config import ConsoleConfig
from dashboards.db import ConsoleDB
from indexer.engine import EngineIndex
from indexer.sqlite import SqliteStore
from tests.conftest import ENGINES, CrawlRun
from tests.support.engines import EngineNode, free_port

PASSWORD = "Passw0rd-2026"
#: One account per role: user name → role, and the display name (姓名) pages show for it.
ACCOUNTS = {"reviewer1": "reviewer", "chief1": "chief", "inspector1": "inspector", "admin1": "admin"}
NAMES = {"reviewer1": "张三", "chief1": "李科长", "inspector1": "王稽查", "admin1": "赵管理"}
BACKENDS = ("sqlite", *ENGINES)
_prefixes = itertools.count()


class LiveServer:
    """uvicorn serving an app in a background thread (its event loop owns every database connection)."""

    def __init__(self, app: object) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the console did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@dataclass
class Console:
    url: str
    backend: str
    data_dir: Path
    config: ConsoleConfig

    @property
    def db_path(self) -> Path:
        return self.data_dir / "adwatch.db"

    def store(self) -> SqliteStore:
        return SqliteStore(self.db_path)

    @contextmanager
    def client(self, username: str | None = None) -> Iterator[httpx.Client]:
        """An HTTP client, logged in as ``username`` if given."""
        with httpx.Client(base_url=self.url, follow_redirects=False, timeout=120) as client:
            if username:
                assert login(client, username).status_code == 303, f"{username} could not log in"
            yield client


def login(client: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    form = client.get("/login")
    token = form.text.split('name="login_csrf" value="', 1)[1].split('"', 1)[0]
    return client.post("/login", data={"username": username, "password": password, "login_csrf": token})


def csrf_of(client: httpx.Client) -> str:
    page = client.get("/")
    page = client.get(page.headers["location"]) if page.status_code == 303 else page
    return page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def copy_crawl(crawled: CrawlRun, target: Path) -> Path:
    shutil.copytree(crawled.data_dir, target, ignore=shutil.ignore_patterns("logs"))  # raw: evidence is built from it
    return target


def index_into(node: EngineNode, db_path: Path) -> EngineIndex:
    """Every stored item, indexed into a fresh prefix of the test node."""
    index = EngineIndex(node.client(), prefix=f"console{next(_prefixes)}", replicas=0, backoff=0.05)
    index.init()
    with SqliteStore(db_path) as store:
        result = index.index_items(list(store.iter_items()))
    assert not result.deferred and not result.rejected
    index.refresh()
    return index


@contextmanager
def serve_console(data_dir: Path, backend: str, **overrides: object) -> Iterator[Console]:
    """Serve the console over ``data_dir`` with one user per role, until the block ends."""
    settings = {"ADWATCH_DATA_DIR": str(data_dir), "ADWATCH_DB_PATH": "", "ADWATCH_CONSOLE_DB_PATH": "",
                "ADWATCH_EVIDENCE_DIR": "", "ADWATCH_INDEX": "", **overrides}
    config = ConsoleConfig.from_settings(project_settings(settings))
    db = ConsoleDB(config.db_path)
    accounts = Accounts(db)
    for username, role in ACCOUNTS.items():
        accounts.add(username, PASSWORD, role, display_name=NAMES[username])
    db.close()
    server = LiveServer(create_app(config)).start()
    try:
        yield Console(server.url, backend, data_dir, config)
    finally:
        server.stop()


@contextmanager
def console_on(request: pytest.FixtureRequest, data_dir: Path, backend: str) -> Iterator[Console]:
    """The console over ``data_dir`` on ``backend``: the store itself, or its items indexed into an engine."""
    if backend == "sqlite":
        with serve_console(data_dir, "sqlite") as served:
            yield served
        return
    node: EngineNode = request.getfixturevalue(f"{backend}_node")
    index = index_into(node, data_dir / "adwatch.db")
    try:
        with serve_console(data_dir, backend, ADWATCH_INDEX=node.index_url, ADWATCH_INDEX_PREFIX=index.names.prefix,
                           ADWATCH_INDEX_REPLICAS=0) as served:
            yield served
    finally:
        index.remove()
        index.close()


@pytest.fixture(params=BACKENDS)
def console(request: pytest.FixtureRequest, crawled: CrawlRun, tmp_path: Path) -> Iterator[Console]:
    """The console over a private copy of the session crawl, on each backend in turn."""
    with console_on(request, copy_crawl(crawled, tmp_path / "data"), request.param) as served:
        yield served


@pytest.fixture
def sqlite_console(crawled: CrawlRun, tmp_path: Path) -> Iterator[Console]:
    """The console on the SQLite backend only (role and security tests do not depend on the backend)."""
    with serve_console(copy_crawl(crawled, tmp_path / "data"), "sqlite") as served:
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright (never a downloaded browser), with the closed-network flags.

    Module-scoped: Playwright's sync API keeps an event loop running in the main thread while it is open, which
    later tests that call ``asyncio.run`` (the evidence capture) must not find.
    """
    from playwright.sync_api import sync_playwright

    settings = project_settings()
    executable = settings.get("ADWATCH_RENDER_EXECUTABLE_PATH")
    if not Path(executable).exists():
        pytest.fail(f"Chromium not found at {executable}: run `make setup` (installs Debian's chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=settings.getlist("ADWATCH_RENDER_BROWSER_ARGS"))
        yield chromium
        chromium.close()


def browser_login(browser: object, console: Console, username: str) -> object:
    """A fresh browser context (its own cookies) logged in as ``username``; returns its page."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 1000},  # type: ignore[attr-defined]
                                  accept_downloads=True)
    page = context.new_page()
    page.goto(f"{console.url}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, f"{username} could not log in"
    return page

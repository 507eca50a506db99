"""Rendering JavaScript pages: the settings and profile schema, then real crawls through real Chromium.

The crawls run the real ``adwatch crawl`` in a subprocess against the JS-only sandbox
shop ``jsmall`` and read what they stored from SQLite and the crawl log.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from scrapy.crawler import Crawler

from crawler.config import project_settings
from crawler.exceptions import ProfileError, RenderError
from crawler.middlewares.render import ContextRotation
from crawler.profiles import RenderWait, load_profiles, parse_profile
from crawler.render import HANDLER, RenderConfig, rendering_installed
from crawler.settings import ADWATCH_RENDER_EXECUTABLE_PATH
from crawler.spiders.profile import ProfileSpider
from sandbox.manifest import ARTICLE_KEYS, TRAPS, GroundTruth, load_manifest
from sandbox.server import SandboxWeb
from sandbox.sites.jsmall import LAZY_ALT_ITEM, JsmallSite
from tests.conftest import REPO, CrawlRun, run_adwatch, skip_unless

PROFILES = load_profiles([REPO / "sandbox" / "profiles"])
TRUTHS = [t for t in load_manifest() if t.site == "jsmall"]
needs_chromium = skip_unless(
    Path(ADWATCH_RENDER_EXECUTABLE_PATH).is_file(),
    reason=f"no Chromium at {ADWATCH_RENDER_EXECUTABLE_PATH} (`make setup` installs Debian's chromium)",
)


# Evidence capture has its own tests; these crawls look at rendering only.
ENV = {"ADWATCH_EVIDENCE_ENABLED": "false"}
# Marks the crawler's Chromium among this machine's processes (Chromium ignores flags it does not know).
MARKER = "--adwatch-render-test"


def _config(**overrides: object) -> RenderConfig:
    settings = project_settings({f"ADWATCH_RENDER_{k.upper()}": v for k, v in overrides.items()})
    return RenderConfig.from_settings(settings)


def _crawler(site: str, **overrides: object) -> Crawler:
    settings = {f"ADWATCH_RENDER_{k.upper()}": v for k, v in overrides.items()}
    return Crawler(ProfileSpider.for_profile(PROFILES[site]), project_settings(settings))


def _crawl(web: SandboxWeb, site: str, data_dir: Path, **env: str) -> CrawlRun:
    return run_adwatch(["crawl", site, "--base-url", f"{site}={web.base_urls[site]}"], data_dir, {**ENV, **env})


# --- settings and profiles ----------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"executable_path": "/nonexistent/chromium"}, "Chromium not found"),
        ({"max_contexts": 0}, "ADWATCH_RENDER_MAX_CONTEXTS must be at least 1"),
        ({"wait_timeout": 0}, "ADWATCH_RENDER_WAIT_TIMEOUT must be positive"),
        ({"abort_resource_types": ["image", "pictures"]}, "unknown types ['pictures']"),
        ({"abort_resource_types": ["document"]}, "cannot abort 'document'"),
        ({"retry_times": -1}, "must not be negative"),
    ],
    ids=["no-chromium", "no-contexts", "no-wait", "unknown-type", "abort-document", "negative-retries"],
)
def test_contradictory_render_settings_are_rejected_at_start_up(overrides: dict, message: str) -> None:
    with pytest.raises(RenderError, match=re.escape(message)):
        _config(**{"executable_path": sys.executable, **overrides})


def test_a_missing_chromium_does_not_matter_when_rendering_is_off() -> None:
    assert _config(enabled=False, executable_path="/nonexistent/chromium").enabled is False


def test_the_playwright_settings_use_the_system_chromium_with_closed_network_flags() -> None:
    options = _config(executable_path=sys.executable).playwright_settings()
    launch = options["PLAYWRIGHT_LAUNCH_OPTIONS"]
    assert launch["executable_path"] == sys.executable and launch["headless"] is True
    assert {"--disable-background-networking", "--no-sandbox", "--disable-quic"} <= set(launch["args"])
    assert options["DOWNLOAD_HANDLERS"] == {"http": HANDLER, "https": HANDLER}
    assert options["PLAYWRIGHT_RESTART_DISCONNECTED_BROWSER"] is True


@needs_chromium
def test_the_playwright_handler_is_installed_only_for_sites_that_render() -> None:
    assert rendering_installed(_crawler("jsmall").settings)
    assert not rendering_installed(_crawler("healthfood").settings)
    assert not rendering_installed(_crawler("jsmall", enabled=False).settings)


def _profile(**extra: object) -> dict[str, object]:
    item = {"name": "goods", "url_pattern": r"/goods/\d+", "fields": {"title": {"css": "h1::text"}}}
    api = {"name": "api", "url_pattern": "/api/", "type": "json", "fields": {"title": {"jmespath": "title"}}}
    return {"name": "shop", "base_url": "http://shop.test/", "start_urls": ["/"], "items": [item, api], **extra}


def test_render_wait_is_validated_on_load() -> None:
    with pytest.raises(ProfileError, match="invalid css selector"):
        parse_profile(_profile(render="js", render_wait={"selector": "div[["}), "shop.yaml")
    with pytest.raises(ProfileError, match="render_wait is set but no page renders"):
        parse_profile(_profile(render_wait={"selector": "h1"}), "shop.yaml")
    with pytest.raises(ProfileError, match="greater than 0"):
        parse_profile(_profile(render="js", render_wait={"timeout": 0}), "shop.yaml")


def test_which_pages_render_and_how_they_wait() -> None:
    profile = parse_profile(_profile(render="js", render_wait={"selector": "h1", "scroll": 2}), "shop.yaml")
    assert profile.render_wait_for("http://shop.test/goods/1") == RenderWait(selector="h1", scroll=2)
    assert profile.render_wait_for("http://shop.test/list") == RenderWait(selector="h1", scroll=2)
    assert profile.render_wait_for("http://shop.test/api/1") is None  # JSON is never rendered
    plain = parse_profile(_profile(), "shop.yaml")
    assert not plain.renders and plain.render_wait_for("http://shop.test/goods/1") is None


def test_an_item_rule_alone_can_render_its_pages() -> None:
    data = _profile()
    data["items"][0] = {**data["items"][0], "render": "js", "render_wait": {"network_idle": True}}
    profile = parse_profile(data, "shop.yaml")
    assert profile.renders
    assert profile.render_wait_for("http://shop.test/goods/1") == RenderWait(network_idle=True)
    assert profile.render_wait_for("http://shop.test/list") is None


def test_contexts_are_retired_after_their_page_limit_and_closed_once_idle() -> None:
    rotation = ContextRotation(prefix="ctx", limit=2)
    first = [rotation.assign(), rotation.assign()]
    assert first == ["ctx-0", "ctx-0"]
    rotation.seen("ctx-0", "context-0")  # type: ignore[arg-type]
    assert rotation.assign() == "ctx-1"
    assert rotation.release("ctx-0") is None  # one page of ctx-0 still open
    assert rotation.release("ctx-0") == "context-0"
    assert rotation.release("ctx-1") is None  # the current context stays


# --- real crawls through real Chromium -----------------------------------------


@pytest.fixture(scope="module")
def js_crawl(web: SandboxWeb, tmp_path_factory: pytest.TempPathFactory) -> CrawlRun:
    data_dir = tmp_path_factory.mktemp("render")
    run = _crawl(web, "jsmall", data_dir)  # run_adwatch's timeout stands for "never a hang"
    assert run.returncode == 0, run.stderr
    return run


def _stored(run: CrawlRun) -> dict[str, dict]:
    """Every stored ad by URL path, with its current version and the article keys of its hits."""
    with sqlite3.connect(run.db_path) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(
            "SELECT a.canonical_url, v.*, (SELECT json_group_array(h.article_key) FROM hits h"
            " WHERE h.version_id = v.id) AS articles"
            " FROM ads a JOIN ad_versions v ON v.id = a.current_version WHERE a.site = 'jsmall'"
        ).fetchall()
    return {"/" + row["canonical_url"].split("/", 3)[3]: dict(row) for row in rows}


def _log(run: CrawlRun) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted((run.data_dir / "logs").glob("*.log")))


def _stat(log: str, name: str) -> int:
    marker = f"'{name}': "
    return int(log.split(marker, 1)[1].split(",", 1)[0]) if marker in log else 0


def _assert_matches_truth(row: dict, truth: GroundTruth) -> None:
    assert row["title"] == truth.title
    assert row["seller"] == truth.seller
    assert json.loads(row["prices"]) == list(truth.prices)
    found = {key for key in json.loads(row["articles"]) if key in ARTICLE_KEYS}
    assert found == set(truth.violations), truth.path


@needs_chromium
def test_every_js_only_ad_is_rendered_stored_and_its_ground_truth_hits_found(js_crawl: CrawlRun) -> None:
    stored = _stored(js_crawl)
    assert set(stored) == {t.path for t in TRUTHS}  # the infinite-scroll listing was scrolled to its end
    for truth in TRUTHS:
        _assert_matches_truth(stored[truth.path], truth)
        assert stored[truth.path]["body"], truth.path  # copy that arrived by XHR


@needs_chromium
def test_a_claim_only_in_a_lazy_images_alt_text_is_found(js_crawl: CrawlRun) -> None:
    truth = next(t for t in TRUTHS if t.path == f"/goods/{LAZY_ALT_ITEM}.html")
    row = _stored(js_crawl)[truth.path]
    alts = json.loads(row["image_alts"])
    assert alts and all(alts)
    with sqlite3.connect(js_crawl.db_path) as conn:
        matched = [m for (m,) in conn.execute("SELECT matched FROM hits WHERE version_id = ?", (row["id"],))]
    assert any(m in alt for m in matched for alt in alts)
    assert not any(m in row["body"] or m in row["title"] for m in matched)


@needs_chromium
def test_a_page_that_never_finishes_loading_is_captured_with_a_note(js_crawl: CrawlRun) -> None:
    path = TRAPS["jsmall"]["never_loads"][0]
    truth = next(t for t in TRUTHS if t.path == path)
    _assert_matches_truth(_stored(js_crawl)[path], truth)
    log = _log(js_crawl)
    assert f"{path} before it finished loading" in log
    assert _stat(log, "adwatch/render/incomplete") == 1
    assert _stat(log, "adwatch/render/page_count") == len(TRUTHS) + 2  # plus home and listing
    assert "'finish_reason': 'finished'" in log


def test_plain_http_sees_none_of_the_js_only_claims(web: SandboxWeb, tmp_path: Path) -> None:
    run = _crawl(web, "jsmall", tmp_path, ADWATCH_RENDER_ENABLED="false")
    assert run.returncode == 0, run.stderr
    assert _stored(run) == {}
    assert "scrapy-playwright" not in _log(run)


def test_a_missing_chromium_is_one_readable_line_before_any_crawl(web: SandboxWeb, tmp_path: Path) -> None:
    run = _crawl(web, "jsmall", tmp_path, ADWATCH_RENDER_EXECUTABLE_PATH="/nonexistent/chromium")
    assert run.returncode == 2
    message = " ".join(run.stderr.split())  # the console wraps long lines
    assert "Chromium not found at ADWATCH_RENDER_EXECUTABLE_PATH='/nonexistent/chromium'" in message
    assert "Traceback" not in run.stderr


def test_plain_http_sites_crawl_without_playwright(web: SandboxWeb, tmp_path: Path) -> None:
    run = _crawl(web, "healthfood", tmp_path)
    assert run.returncode == 0, run.stderr
    log = _log(run)
    assert "scrapy-playwright" not in log
    assert "'crawler.middlewares.render.RenderMiddleware'" not in log  # not among the enabled middlewares
    assert _stat(log, "item_scraped_count") > 0


# --- a browser that dies mid-crawl ------------------------------------------------


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def _browser_processes(pid: int) -> list[int]:
    """The main Chromium processes (not its renderers and helpers) started under ``pid``."""
    browsers = []
    for child in _descendants(pid):
        try:
            argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if MARKER.encode() in argv and not any(a.startswith(b"--type=") for a in argv):
            browsers.append(child)
    return browsers


def _wait_until(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


@needs_chromium
def test_a_killed_browser_is_restarted_and_its_pages_are_rendered_again(web: SandboxWeb, tmp_path: Path) -> None:
    """Chromium is killed while it holds the never-finishing page open, so a page is surely in flight."""
    site = web.sites["jsmall"]
    assert isinstance(site, JsmallSite)
    before = site.hanging_requests
    browser_args = [*project_settings().getlist("ADWATCH_RENDER_BROWSER_ARGS"), MARKER]
    env = {
        **os.environ,
        **ENV,
        "ADWATCH_DATA_DIR": str(tmp_path),
        "ADWATCH_RENDER_BROWSER_ARGS": json.dumps(browser_args),
    }
    args = ["crawl", "jsmall", "--base-url", f"jsmall={web.base_urls['jsmall']}"]
    crawl = subprocess.Popen([sys.executable, str(REPO / "adwatch.py"), *args], cwd=REPO, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        _wait_until(lambda: site.hanging_requests > before, timeout=120)
        time.sleep(1.0)  # the page now waits for its load event, for seconds
        browsers = _browser_processes(crawl.pid)
        assert len(browsers) >= 1
        for pid in browsers:
            os.kill(pid, signal.SIGKILL)
        stdout, stderr = crawl.communicate(timeout=180)
    finally:
        if crawl.poll() is None:
            crawl.kill()
    assert crawl.returncode == 0, stderr
    run = CrawlRun(tmp_path, crawl.returncode, stdout, stderr)
    log = _log(run)
    assert _stat(log, "playwright/browser_count") >= 2
    # Retried by scrapy-playwright (a page lost while navigating) or by the render middleware (while waiting).
    assert _stat(log, "adwatch/render/retry/max_reached") == 0
    assert "'adwatch/error/" not in log
    assert site.hanging_requests >= before + 2  # the never-finishing page was rendered again
    stored = _stored(run)
    for truth in TRUTHS:
        _assert_matches_truth(stored[truth.path], truth)

"""A monitored site cannot steer the crawler to another host (#19): redirects and meta refresh stay on its hosts.

A real crawl (the adwatch CLI in a subprocess) of a real local server whose pages redirect off-site: by
HTTP 302 with an absolute and a scheme-relative Location, and by a meta refresh. The "other host" is
``localhost``, the same machine under another name, so the server sees every request that would leave.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import QuietHandler, local_server, run_adwatch

PROFILE = """name: steer
title: 跳转测试站
base_url: http://127.0.0.1:1/
start_urls: [/]
politeness: {{obey_robots: false, download_delay: 0}}
private_network: {private}
follow:
  - allow: ['/item/', '/go/']
items:
  - name: item
    url_pattern: '/item/\\d+'
    fields:
      title: {{css: 'h1::text'}}
      body: {{css: 'p::text'}}
{extra}
"""


class _Site(QuietHandler):
    seen: list[tuple[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        host, port = self.headers["Host"], self.server.server_address[1]
        self.seen.append((host.split(":")[0], self.path))
        pages = {
            "/": '<a href="/go/absolute">a</a><a href="/go/scheme">b</a><a href="/go/refresh">c</a>'
            '<a href="/item/1">1</a>',
            "/item/1": "<h1>本地商品</h1><p>全网最低价</p>",
            "/item/9": "<h1>内网页面</h1><p>不应抓取</p>",
            "/go/refresh": f'<meta http-equiv="refresh" content="0; url=http://localhost:{port}/item/9">',
        }
        redirects = {"/go/absolute": f"http://localhost:{port}/item/9", "/go/scheme": f"//localhost:{port}/item/9"}
        if self.path in redirects:
            self.answer(302, Location=redirects[self.path])
            return
        body = f"<html><body>{pages.get(self.path, '')}</body></html>".encode()
        self.answer(200 if self.path in pages else 404, body, "text/html; charset=utf-8")


@pytest.fixture
def site() -> Iterator[tuple[str, list[tuple[str, str]]]]:
    seen: list[tuple[str, str]] = []
    with local_server(type("Site", (_Site,), {"seen": seen})) as url:
        yield url, seen


def crawl(tmp_path: Path, base_url: str, extra: str = "", private: bool = True) -> Path:
    """A crawl of the local test site; ``private`` is the profile's private_network (a local site needs it)."""
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "steer.yaml").write_text(PROFILE.format(extra=extra, private=str(private).lower()), encoding="utf-8")
    env = {"ADWATCH_PROFILE_DIRS": json.dumps([str(profiles)]), "ADWATCH_INDEX_ENABLED": "false"}
    run = run_adwatch(["crawl", "steer", "--base-url", f"steer={base_url}"], tmp_path / "data", env)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.db_path


def stored_titles(db_path: Path) -> list[str]:
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT v.title FROM ads a JOIN ad_versions v ON v.id = a.current_version").fetchall()
    return sorted(title for (title,) in rows)


def test_redirects_and_meta_refresh_never_leave_the_profiles_hosts(site, tmp_path: Path) -> None:
    base_url, seen = site
    db_path = crawl(tmp_path, base_url)
    assert {path for host, path in seen if host == "127.0.0.1"} >= {"/", "/item/1", "/go/absolute", "/go/refresh"}
    assert [request for request in seen if request[0] != "127.0.0.1"] == []
    assert stored_titles(db_path) == ["本地商品"]


def test_a_host_the_profile_allows_may_be_reached(site, tmp_path: Path) -> None:
    base_url, seen = site
    db_path = crawl(tmp_path, base_url, "allowed_hosts: [localhost]")
    assert ("localhost", "/item/9") in seen
    assert stored_titles(db_path) == ["内网页面", "本地商品"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_private_or_loopback_address_is_refused_unless_the_profile_allows_it(site, tmp_path: Path,
                                                                                 host: str) -> None:
    """A monitored site must not make the crawler fetch the machine or its intranet: not even robots.txt."""
    base_url, seen = site
    db_path = crawl(tmp_path, base_url.replace("127.0.0.1", host), private=False)
    assert seen == []
    assert stored_titles(db_path) == []
    log = next((tmp_path / "data" / "logs").glob("*.log")).read_text(encoding="utf-8")
    assert "refused a private or loopback address" in log and "'adwatch/request/private_address'" in log

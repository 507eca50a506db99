"""A real crawl of a site that hides ads from a naive crawler (#19, items 2 and 5).

The adwatch CLI in a subprocess crawls a real local server: a GBK page links two ads whose
URLs differ only in a GBK-encoded query (one link percent-encoded, one in raw GBK bytes), and
an ad stands after 3,000 nested tags.  The server reads the query as GBK, as the sites do, so a
query sent in UTF-8 or as U+FFFD finds no ad.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit

from tests.conftest import QuietHandler, local_server, run_adwatch

PROFILE = """name: hostile
title: 恶意页面测试站
base_url: http://127.0.0.1:1/
start_urls: [/]
politeness: {obey_robots: false, download_delay: 0}
private_network: true
follow:
  - allow: ['/item', '/deep']
items:
  - name: ad
    url_pattern: '/item\\?|/deep'
    fields:
      title: {css: 'h1::text'}
      body: {css: 'p::text'}
"""
ADS = {"奶粉": "进口奶粉，假一赔十", "白糖": "有机白糖，全网最低价"}
LISTING = '<a href="/item?name=%C4%CC%B7%DB">奶粉</a> <a href="/item?name=白糖">白糖</a> <a href="/deep">更多</a>'
DEPTH = 3000


class _Site(QuietHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        url = urlsplit(self.path)
        if url.path == "/":
            self.send_page(LISTING)
        elif url.path == "/item" and url.query.startswith("name="):
            name = unquote_to_bytes(url.query.removeprefix("name=")).decode("gbk", errors="replace")
            if name in ADS:
                self.send_page(f"<h1>{name}广告</h1><p>{ADS[name]}</p>")
            else:
                self.answer(404)
        elif url.path == "/deep":
            self.send_page(
                "<div>" * DEPTH + "<span>包装</span>" + "</div>" * DEPTH + "<h1>深处广告</h1><p>限时特价，仅此一天</p>"
            )
        else:
            self.answer(404)

    def send_page(self, body: str) -> None:
        page = f'<html><head><meta charset="gbk"><title>测试</title></head><body>{body}</body></html>'
        self.answer(200, page.encode("gbk"), "text/html")


def test_gbk_query_links_and_deep_nesting_lose_no_ad(tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "hostile.yaml").write_text(PROFILE, encoding="utf-8")
    env = {"ADWATCH_PROFILE_DIRS": json.dumps([str(profiles)]), "ADWATCH_INDEX_ENABLED": "false"}
    with local_server(_Site) as base_url:
        run = run_adwatch(["crawl", "hostile", "--base-url", f"hostile={base_url}"], tmp_path / "data", env)
    assert run.returncode == 0, run.stderr[-2000:]
    with sqlite3.connect(run.db_path) as conn:
        rows = conn.execute(
            "SELECT a.canonical_url, v.title, v.body FROM ads a JOIN ad_versions v ON v.id = a.current_version"
        ).fetchall()
    stored = sorted((url.removeprefix(base_url), title, body) for url, title, body in rows)
    assert stored == [
        ("deep", "深处广告", "限时特价，仅此一天"),
        ("item?name=%B0%D7%CC%C7", "白糖广告", "有机白糖，全网最低价"),
        ("item?name=%C4%CC%B7%DB", "奶粉广告", "进口奶粉，假一赔十"),
    ]
    (log,) = (run.data_dir / "logs").glob("crawl-*.log")
    assert "'adwatch/html/deep_nesting': 1," in log.read_text(encoding="utf-8")  # Scrapy's stats dump

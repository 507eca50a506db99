from __future__ import annotations

import json
import time

import pytest
from parsel import Selector

from crawler.exceptions import SandboxError
from sandbox.catalog import XSS_PAYLOAD
from sandbox.manifest import TRAPS, load_manifest
from sandbox.server import SITES, SandboxWeb
from tests.conftest import held_port
from tests.sandbox.conftest import SLOW_SECONDS, fetch


def test_every_site_serves_its_home_and_every_ad(web: SandboxWeb) -> None:
    for site in SITES:
        assert fetch(web.url(site, "/")).status == 200
    for truth in load_manifest():
        page = fetch(web.url(truth.site, truth.path))
        assert page.status == 200, truth.path


def test_gbk_shop_page_declares_charset_only_in_meta(web: SandboxWeb) -> None:
    page = fetch(web.url("mall", TRAPS["mall"]["gbk"][0]))
    assert page.headers["Content-Type"] == "text/html"
    text = page.text("gbk")
    assert 'content="text/html; charset=gbk"' in text
    assert "禾谷源官方旗舰店" in text
    with pytest.raises(UnicodeDecodeError):
        page.text("utf-8")


def test_wrong_charset_listing_says_utf8_but_is_gbk(web: SandboxWeb) -> None:
    page = fetch(web.url("mall", TRAPS["mall"]["wrong_charset"][0]))
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "charset=gbk" in page.text("gbk")


def test_robots_txt_disallows_back_office_and_cart(web: SandboxWeb) -> None:
    robots = fetch(web.url("mall", "/robots.txt")).text()
    assert "Disallow: /admin/" in robots
    assert "Disallow: /cart/" in robots
    home = fetch(web.url("mall", "/")).text()
    assert 'href="/cart/"' in home and 'href="/admin/login"' in home


def test_redirects(web: SandboxWeb) -> None:
    old = fetch(web.url("mall", TRAPS["mall"]["redirects"][0]))
    assert old.status == 301
    assert old.headers["Location"] == "/item/1005.html"
    chain = TRAPS["mall"]["redirect_chain"]
    for here, there in zip(chain, chain[1:], strict=False):
        hop = fetch(web.url("mall", here))
        assert (hop.status, hop.headers["Location"]) == (302, there)


def test_not_found_and_server_error(web: SandboxWeb) -> None:
    for site, traps in TRAPS.items():
        for path in traps.get("not_found", []):
            assert fetch(web.url(site, path)).status == 404, path
        for path in traps.get("server_error", []):
            assert fetch(web.url(site, path)).status == 500, path


def test_calendar_is_endless(web: SandboxWeb) -> None:
    path = TRAPS["mall"]["calendar"][0]
    for _ in range(30):
        page = Selector(text=fetch(web.url("mall", path)).text())
        path = page.css("a.next::attr(href)").get()
    assert path == "/calendar/2029-05"


def test_slow_page_is_slow(web: SandboxWeb) -> None:
    started = time.monotonic()
    assert fetch(web.url("mall", TRAPS["mall"]["slow"][0])).status == 200
    assert time.monotonic() - started >= SLOW_SECONDS


def test_tracking_duplicates_serve_the_same_item(web: SandboxWeb) -> None:
    clean = fetch(web.url("mall", "/item/1001.html")).body
    for path in TRAPS["mall"]["tracking_duplicates"][:2]:
        assert fetch(web.url("mall", path)).body == clean


def test_search_api_pages_through_every_mall_item(web: SandboxWeb) -> None:
    url: str | None = web.url("mall", "/api/search?q=&page=1")
    seen: list[str] = []
    while url:
        data = json.loads(fetch(url).body)["data"]
        seen.extend(item["url"] for item in data["items"])
        url = data["next"]
    expected = {web.url("mall", t.path) for t in load_manifest() if t.site == "mall"}
    assert set(seen) == expected


def test_xss_payload_is_data_not_markup(web: SandboxWeb) -> None:
    text = fetch(web.url("mall", TRAPS["mall"]["xss"][0])).text()
    title = Selector(text=text).css("h1.item-title::text").get()
    assert title is not None and title.endswith(XSS_PAYLOAD)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_broken_html_page_is_broken_but_parseable(web: SandboxWeb) -> None:
    text = fetch(web.url("mall", TRAPS["mall"]["broken_html"][0])).text()
    assert "</html>" not in text and "</p>" not in text
    truth = next(t for t in load_manifest() if t.path == TRAPS["mall"]["broken_html"][0])
    assert Selector(text=text).css("h1.item-title::text").get() == truth.title


def test_busy_port_raises_sandbox_error() -> None:
    with held_port() as port, pytest.raises(SandboxError, match=rf"'mall'.*127\.0\.0\.1:{port}"):
        SandboxWeb(port_base=port).start()


def test_busy_port_is_named_in_chinese() -> None:
    with held_port() as port, pytest.raises(SandboxError, match=rf"端口 {port} 已被其他程序占用"):
        SandboxWeb(port_base=port).start()


def test_a_busy_port_gives_way_to_a_free_one_when_asked() -> None:
    with held_port() as port, SandboxWeb(port_base=port, free_port_if_busy=True) as web:
        assert port in web.busy_ports
        assert web.base_urls["mall"] != f"http://127.0.0.1:{port}/"
        assert fetch(web.url("mall", "/robots.txt")).status == 200

"""The JS-only shop over plain HTTP: empty shells, with everything in JSON the scripts fetch."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest
from parsel import Selector

from crawler.extract import extract_record
from crawler.profiles import load_profiles
from sandbox.catalog import build_catalog
from sandbox.manifest import TRAPS, load_manifest
from sandbox.server import SandboxWeb
from tests.sandbox.conftest import fetch
from tests.sandbox.test_profiles import PROFILE_DIR

TRUTHS = [t for t in load_manifest() if t.site == "jsmall"]
ADS = {ad.path: ad for ad in build_catalog().for_site("jsmall")}


def test_the_shop_renders_and_has_ground_truth() -> None:
    profile = load_profiles([PROFILE_DIR])["jsmall"]
    assert profile.render == "js"
    assert len(TRUTHS) >= 12
    assert any(t.violations for t in TRUTHS) and any(t.compliant for t in TRUTHS)


@pytest.mark.parametrize("path", [t.path for t in TRUTHS])
def test_plain_http_sees_no_title_copy_or_claim(web: SandboxWeb, path: str) -> None:
    page = fetch(web.url("jsmall", path))
    assert page.status == 200
    text = page.text()
    ad = ADS[path]
    for visible in (ad.title, *ad.paragraphs, *ad.image_alts):
        assert visible not in text, visible
    rule = load_profiles([PROFILE_DIR])["jsmall"].item_rule_for(web.url("jsmall", path))
    assert rule is not None
    record = extract_record(Selector(text=text), rule)
    assert not record["title"] and not record["body"] and not record["image_alts"]


def test_plain_http_finds_no_links_to_products(web: SandboxWeb) -> None:
    for path in TRAPS["jsmall"]["js_only"][:2]:
        links = Selector(text=fetch(web.url("jsmall", path)).text()).css("a::attr(href)").getall()
        assert not [href for href in links if "/goods/" in href], path


def test_the_scripts_json_pages_through_every_ad(web: SandboxWeb) -> None:
    url: str | None = "/api/list?page=1"
    seen: list[str] = []
    while url:
        data = json.loads(fetch(web.url("jsmall", url)).body)
        seen += [item["url"] for item in data["items"]]
        url = data["next"]
    assert seen == [t.path for t in TRUTHS]
    detail = json.loads(fetch(web.url("jsmall", TRAPS["jsmall"]["xhr_claims"][0])).body)
    assert detail["paragraphs"] == list(ADS["/goods/5001.html"].paragraphs)


def test_the_never_completing_resource_does_not_answer(web: SandboxWeb) -> None:
    page = fetch(web.url("jsmall", TRAPS["jsmall"]["never_loads"][0])).text()
    assert TRAPS["jsmall"]["never_completing_resource"][0] in page
    parts = urlsplit(web.url("jsmall", TRAPS["jsmall"]["never_completing_resource"][0]))
    with socket.create_connection((parts.hostname, parts.port), timeout=1.0) as conn:
        conn.sendall(f"GET {parts.path} HTTP/1.0\r\n\r\n".encode())
        with pytest.raises(TimeoutError):
            conn.recv(1)

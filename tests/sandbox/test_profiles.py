"""The site profiles reach and extract every ad in the manifest."""

from __future__ import annotations

import re
from collections import deque
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import pytest
from parsel import Selector

from crawler.extract import extract_record
from crawler.profiles import Profile, load_profiles
from sandbox.hostile import KEY as HOSTILE
from sandbox.manifest import load_manifest
from sandbox.server import SITES, SandboxWeb
from tests.sandbox.conftest import fetch

PROFILE_DIR = Path(__file__).resolve().parents[2] / "sandbox" / "profiles"
# Sites whose pages only a browser can read (render: js) are crawled for real in tests/test_render.py.
PLAIN_SITES = tuple(s for s in SITES if not load_profiles([PROFILE_DIR])[s].renders)


@pytest.fixture(scope="module")
def profiles(web: SandboxWeb) -> dict[str, Profile]:
    loaded = load_profiles([PROFILE_DIR])
    return {name: loaded[name].with_base_url(web.base_urls[name]) for name in SITES}


def _price(text: str) -> float:
    return float(re.sub(r"[^\d.]", "", text))


def test_every_site_has_a_sandbox_profile() -> None:
    """The hostile site's profile is in its own group: `adwatch demo` crawls the "sandbox" group only."""
    loaded = load_profiles([PROFILE_DIR])
    assert set(loaded) == {*SITES, HOSTILE}
    for name, profile in loaded.items():
        assert profile.group == (HOSTILE if name == HOSTILE else "sandbox")
        assert urlsplit(profile.base_url).hostname == "127.0.0.1", name


def test_profiles_extract_title_price_and_seller(web: SandboxWeb, profiles: dict[str, Profile]) -> None:
    for truth in load_manifest():
        profile = profiles[truth.site]
        if profile.renders:
            continue
        url = web.url(truth.site, truth.path)
        rule = profile.item_rule_for(url)
        assert rule is not None, url
        page = fetch(url)
        record = extract_record(Selector(text=page.text()), rule)
        assert record["title"] == truth.title, url
        assert record["seller"] == truth.seller, url
        assert [_price(p) for p in record.get("prices", [])] == list(truth.prices), url
        assert record["body"], url


def _links(profile: Profile, url: str, body: bytes, content_type: str) -> list[str]:
    found: list[str] = []
    is_json = content_type.startswith("application/json")
    page = None if is_json else Selector(text=body.decode("utf-8", errors="replace"))
    for rule in profile.follow:
        if is_json and rule.jmespath:
            values = Selector(text=body.decode()).jmespath(rule.jmespath).getall()
            candidates = [str(v) for v in values if v]
        elif page is not None and not rule.jmespath:
            candidates = page.css(f"{rule.css or 'a'}::attr(href)").getall()
        else:
            continue
        for href in candidates:
            absolute = urljoin(url, href)
            allowed = not rule.allow or any(re.search(p, absolute) for p in rule.allow)
            if allowed and not any(re.search(p, absolute) for p in rule.deny):
                found.append(absolute)
    return found


def _crawl(profile: Profile) -> set[str]:
    """A breadth-first crawl the way the generic spider does it; returns the URL paths fetched."""
    robots = RobotFileParser()
    robots.parse(fetch(profile.absolute("/robots.txt")).text().splitlines())
    host = urlsplit(profile.base_url).netloc
    queue = deque(profile.absolute_start_urls)
    seen = set(queue)
    fetched: set[str] = set()
    while queue and len(fetched) < 1000:
        url = queue.popleft()
        if not robots.can_fetch("AdWatch", url) or urlsplit(url).path.startswith("/promo/slow"):
            continue
        page = fetch(url)
        for _ in range(5):
            if page.status not in (301, 302):
                break
            url = urljoin(url, page.headers["Location"])
            page = fetch(url)
        if page.status != 200:
            continue
        fetched.add(urlsplit(url).path)
        for link in _links(profile, url, page.body, page.headers.get("Content-Type", "")):
            parts = urlsplit(link)
            clean = link.split("?")[0] if "/item/" in link or "/lot/" in link else link.split("#")[0]
            if parts.netloc == host and clean not in seen:
                seen.add(clean)
                queue.append(clean)
    return fetched


@pytest.mark.parametrize("site", PLAIN_SITES)
def test_every_ad_is_reachable_through_its_profile(site: str, profiles: dict[str, Profile]) -> None:
    fetched = _crawl(profiles[site])
    missing = [t.path for t in load_manifest() if t.site == site and t.path not in fetched]
    assert not missing
    assert not any(p.startswith(("/admin/", "/cart/", "/calendar/")) for p in fetched)

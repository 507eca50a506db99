"""The profile spider on hostile pages (#19): one bad string or link costs nothing else on the page.

Responses are built by hand, as the downloader would hand them over, and parsed by the real spider.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import scrapy
from scrapy.http import TextResponse
from scrapy.utils.test import get_crawler

from crawler.items import AdItem
from crawler.profiles import parse_profile
from crawler.spiders.profile import ProfileSpider

BASE = "http://shop.test/"
PROFILE = {
    "name": "shop",
    "title": "测试商城",
    "base_url": BASE,
    "start_urls": ["/"],
    "follow": [{"allow": ["/item/"]}, {"jmespath": "data.items[].url", "allow": ["/item/"]}],
    "items": [
        {"name": "api", "url_pattern": "/api/", "type": "json", "records": "data.items",
         "fields": {"title": {"jmespath": "title"}, "body": {"jmespath": "body"}, "url": {"jmespath": "url"}}},
    ],
}


@pytest.fixture
def spider() -> Iterator[ProfileSpider]:
    spidercls = ProfileSpider.for_profile(parse_profile(PROFILE, "test"))
    crawler = get_crawler(spidercls)
    spider = spidercls.from_crawler(crawler)
    spider._requested, spider._judged = set(), set()
    yield spider


def parse(spider: ProfileSpider, url: str, body: str, content_type: str) -> list[Any]:
    response = TextResponse(url=url, body=body.encode("utf-8"), encoding="utf-8",
                            headers={"Content-Type": content_type}, request=scrapy.Request(url))
    return list(spider.parse(response))


def test_a_lone_surrogate_in_a_json_endpoint_costs_no_record(spider: ProfileSpider) -> None:
    """It used to lose every record of the page (UnicodeEncodeError in parsel's JMESPath)."""
    body = ('{"data": {"items": [{"title": "正品保障", "body": "全网最低价", "url": "/item/1"},'
            ' {"title": "坏字符\\ud851在此", "body": "第二条", "url": "/item/2"}]}}')
    out = parse(spider, BASE + "api/list", body, "application/json")
    items = [o for o in out if isinstance(o, AdItem)]
    assert [item.title for item in items] == ["正品保障", "坏字符\ufffd在此"]
    assert sorted(r.url for r in out if isinstance(r, scrapy.Request)) == [BASE + "item/1", BASE + "item/2"]


def test_one_malformed_link_does_not_stop_the_pages_other_links(spider: ProfileSpider) -> None:
    body = '<a href="http://[::1">bad</a><a href="/item/1">one</a><a href="/item/2">two</a>'
    out = parse(spider, BASE, f"<html><body>{body}</body></html>", "text/html; charset=utf-8")
    assert sorted(r.url for r in out if isinstance(r, scrapy.Request)) == [BASE + "item/1", BASE + "item/2"]
    assert spider.crawler.stats.get_value("adwatch/link/malformed") == 1

"""The profile spider on hostile pages (#19): one bad string or link costs nothing else on the page.

Responses are built by hand, as the downloader would hand them over, and parsed by the real spider.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import scrapy
from scrapy.http import HtmlResponse, TextResponse
from scrapy.utils.test import get_crawler

from crawler.items import AdItem
from crawler.middlewares.encoding import EncodingMiddleware
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
        {"name": "item", "url_pattern": "/item/", "fields": {"title": {"css": "h1::text"}, "body": {"css": "p::text"}}},
        {
            "name": "api",
            "url_pattern": "/api/",
            "type": "json",
            "records": "data.items",
            "fields": {"title": {"jmespath": "title"}, "body": {"jmespath": "body"}, "url": {"jmespath": "url"}},
        },
    ],
}


@pytest.fixture
def spider() -> Iterator[ProfileSpider]:
    spidercls = ProfileSpider.for_profile(parse_profile(PROFILE, "test"))
    crawler = get_crawler(spidercls, {"ADWATCH_ENCODING_ENABLED": True})
    spider = spidercls.from_crawler(crawler)
    spider._requested, spider._judged = set(), set()
    yield spider


def parse(spider: ProfileSpider, url: str, body: str, content_type: str) -> list[Any]:
    response = TextResponse(
        url=url,
        body=body.encode("utf-8"),
        encoding="utf-8",
        headers={"Content-Type": content_type},
        request=scrapy.Request(url),
    )
    return list(spider.parse(response))


def downloaded(spider: ProfileSpider, url: str, body: bytes, content_type: str = "text/html") -> list[Any]:
    """What the spider makes of ``body`` served at ``url``, after the real encoding middleware."""
    request = scrapy.Request(url)
    response = HtmlResponse(url=url, body=body, headers={"Content-Type": content_type}, request=request)
    response = EncodingMiddleware.from_crawler(spider.crawler).process_response(request, response, spider)
    return list(spider.parse(response))


def request_urls(out: list[Any]) -> list[str]:
    return sorted(r.url for r in out if isinstance(r, scrapy.Request))


def test_a_lone_surrogate_in_a_json_endpoint_costs_no_record(spider: ProfileSpider) -> None:
    """It used to lose every record of the page (UnicodeEncodeError in parsel's JMESPath)."""
    body = (
        '{"data": {"items": [{"title": "正品保障", "body": "全网最低价", "url": "/item/1"},'
        ' {"title": "坏字符\\ud851在此", "body": "第二条", "url": "/item/2"}]}}'
    )
    out = parse(spider, BASE + "api/list", body, "application/json")
    items = [o for o in out if isinstance(o, AdItem)]
    assert [item.title for item in items] == ["正品保障", "坏字符\ufffd在此"]
    assert sorted(r.url for r in out if isinstance(r, scrapy.Request)) == [BASE + "item/1", BASE + "item/2"]


def test_a_record_with_a_malformed_url_costs_that_record_only(spider: ProfileSpider) -> None:
    """Found by the hostile suite: it raised in the spider and lost the page's records after it."""
    body = (
        '{"data": {"items": [{"title": "坏记录", "body": "链接坏了", "url": "http://[::1"},'
        ' {"title": "正品保障", "body": "全网最低价", "url": "/item/1"}]}}'
    )
    items = [o for o in parse(spider, BASE + "api/list", body, "application/json") if isinstance(o, AdItem)]
    assert [(item.title, item.url) for item in items] == [("正品保障", BASE + "item/1")]
    assert spider.crawler.stats.get_value("adwatch/error/bad_record") == 1


def test_one_malformed_link_does_not_stop_the_pages_other_links(spider: ProfileSpider) -> None:
    body = '<a href="http://[::1">bad</a><a href="/item/1">one</a><a href="/item/2">two</a>'
    out = parse(spider, BASE, f"<html><body>{body}</body></html>", "text/html; charset=utf-8")
    assert sorted(r.url for r in out if isinstance(r, scrapy.Request)) == [BASE + "item/1", BASE + "item/2"]
    assert spider.crawler.stats.get_value("adwatch/link/malformed") == 1


# --- #19, items 2 and 5: encoded query strings, doubtful decodings, deep nesting ----------------------

GBK_LINKS = {
    "percent-encoded": '<a href="/item/?name=%C4%CC%B7%DB">奶粉</a><a href="/item/?name=%B0%D7%CC%C7">白糖</a>',
    "raw-gbk-bytes": '<a href="/item/?name=奶粉">奶粉</a><a href="/item/?name=白糖">白糖</a>',
}


@pytest.mark.parametrize("links", GBK_LINKS.values(), ids=GBK_LINKS.keys())
def test_gbk_query_strings_keep_two_ads_on_two_urls(spider: ProfileSpider, links: str) -> None:
    """They were both rewritten to ?name=%EF%BF%BD%EF%BF%BD…: two ads, one URL, one of them never fetched."""
    body = f'<html><head><meta charset="gbk"><title>列表</title></head><body>{links}</body></html>'.encode("gbk")
    expected = [BASE + "item/?name=%B0%D7%CC%C7", BASE + "item/?name=%C4%CC%B7%DB"]  # GBK 白糖, 奶粉
    assert request_urls(downloaded(spider, BASE, body)) == expected


def test_a_tracking_parameter_goes_and_a_gbk_one_stays(spider: ProfileSpider) -> None:
    body = '<a href="/item/?spm=a1.b2&name=%C4%CC%B7%DB&utm_source=x">奶粉</a>'.encode()
    assert request_urls(downloaded(spider, BASE, body)) == [BASE + "item/?name=%C4%CC%B7%DB"]


def test_an_item_read_with_a_doubt_carries_it(spider: ProfileSpider) -> None:
    """GBK bytes under a UTF-8 header, with a truncated last character: stored, with the doubt on it."""
    body = "<html><body><h1>限时特价奶粉</h1><p>国家级重点专科，治愈率高达百分之九十。</p></body></html>".encode("gbk")
    out = downloaded(spider, BASE + "item/1", body + b"\xc4", "text/html; charset=utf-8")
    (item,) = [o for o in out if isinstance(o, AdItem)]
    assert item.title == "限时特价奶粉"
    assert item.encoding_doubt == "declared utf-8, bytes are not utf-8: decoded as gb18030 with 1 replacement (a guess)"
    assert spider.crawler.stats.get_value("adwatch/encoding/doubt") == 1


def test_an_item_read_surely_has_no_doubt(spider: ProfileSpider) -> None:
    body = '<html><head><meta charset="gbk"></head><body><h1>白糖</h1><p>全网最低价</p></body></html>'.encode("gbk")
    (item,) = [o for o in downloaded(spider, BASE + "item/2", body) if isinstance(o, AdItem)]
    assert (item.title, item.encoding_doubt) == ("白糖", "")
    assert spider.crawler.stats.get_value("adwatch/encoding/doubt") is None


def test_an_ad_after_3000_nested_tags_is_found(spider: ProfileSpider) -> None:
    """lxml stops at depth 2,048 and used to drop the ad and every link after the nesting."""
    html = '<html><body>{}<h1>深处的广告</h1><p>全网最低价，假一赔十</p><a href="/item/9">下一件</a>{}</body></html>'
    body = html.format("<div>" * 3000, "</div>" * 3000).encode("gbk")
    out = downloaded(spider, BASE + "item/8", body, "text/html; charset=gbk")
    (item,) = [o for o in out if isinstance(o, AdItem)]
    assert (item.title, item.body) == ("深处的广告", "全网最低价，假一赔十")
    assert request_urls(out) == [BASE + "item/9"]
    assert spider.crawler.stats.get_value("adwatch/html/deep_nesting") == 1


def test_an_ad_after_a_stray_html_end_tag_is_found(spider: ProfileSpider) -> None:
    """Found by the hostile suite: libxml2 put what follows </html> after the root element, out of selectors' reach."""
    body = '<html><body><p>页首</p></body></html><h1>页尾的广告</h1><p>全网最低价</p></body></html>'.encode()
    (item,) = [o for o in downloaded(spider, BASE + "item/7", body) if isinstance(o, AdItem)]
    assert item.title == "页尾的广告"
    assert spider.crawler.stats.get_value("adwatch/html/stray_end_tag") == 1

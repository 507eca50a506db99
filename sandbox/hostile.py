"""The hostile site: about 1,000 pages that hide ads from a naive crawler or try to steer it (#19).

Every page belongs to a named case (off-site redirects, lying charsets, lone surrogates in JSON,
malformed links, GBK queries, deep nesting, broken HTML, huge pages, traps …) and carries zero or
one ad; :func:`hostile_truth` says, for each, whether a crawl must store it: every ad a browser
shows, except where the crawler must not go (robots.txt, another host, a page slower than the
profile's timeout).  Each ad has a distinctive phrase that only a correct decoding keeps readable.

``HostileWeb`` serves the site and, on a second port under another host name (``localhost``),
the off-site host its redirects point at; that host counts every request it gets, so a crawl
that left the site shows up there.  The pages are generated deterministically on start.
"""

from __future__ import annotations

import codecs
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from urllib.parse import quote_from_bytes, unquote_to_bytes, urlsplit

from sandbox.server import DEFAULT_PORT_BASE, SITES, SiteServer, send
from sandbox.sites.base import Response, h

KEY = "hostile"
#: The hostile site's default port, after the sandbox web's; the off-site host takes the next one.
HOSTILE_PORT = DEFAULT_PORT_BASE + len(SITES)
#: The host name the off-site host is reached under: the same machine, but not the profile's host.
OFFSITE_HOST = "localhost"
#: What robots.txt forbids: pages a browser shows but the crawler must not fetch.
ROBOTS = "User-agent: *\nDisallow: /private/\n"
#: The profile's download timeout (sandbox/profiles/hostile.yaml); a page answering later is lost.
PROFILE_TIMEOUT = 3.0

PRODUCTS = (
    "灵芝孢子粉", "深海鱼油", "降压茶", "护肝片", "祛斑霜", "增高鞋垫", "减肥咖啡", "生发液", "蜂胶软胶囊", "人参酒",
    "燕窝饮品", "益生菌粉", "磁疗床垫", "美白面膜", "降糖茶", "护眼仪", "钙片", "酵素饮", "阿胶糕", "玛咖片",
)  # fmt: skip
CLAIMS = ("三天根治", "全网最低价", "国家级产品", "无效退款", "百分之百安全", "专家推荐", "药到病除", "永不反弹")


@dataclass(frozen=True)
class Truth:
    """One place of the hostile site and what a crawl must make of it.

    ``path`` is the ad's URL (path and query, canonical form) or, for a page without an ad, the page's.
    ``phrase`` is the ad's distinctive phrase ("" = no ad); ``expected`` whether the crawl must store it
    (``note`` says why not); ``doubt`` whether its stored version must carry an encoding doubt.
    """

    case: str
    path: str
    phrase: str = ""
    expected: bool = False
    doubt: bool = False
    note: str = ""


@dataclass
class Ad:
    phrase: str
    title: str
    body: str


#: A response made when asked, from the request's Host header (a redirect to the host itself, a slow page).
Dynamic = Callable[[str], Response]


@dataclass
class _Pages:
    """What the cases build: the responses by path, the ground truth, and each case's links."""

    offsite_url: str
    responses: dict[str, Response | Dynamic] = field(default_factory=dict)
    truth: list[Truth] = field(default_factory=list)
    links: dict[str, list[str]] = field(default_factory=dict)
    offsite: dict[str, Response] = field(default_factory=dict)  # the off-site host's pages
    serial: int = 0

    def ad(self) -> Ad:
        self.serial += 1
        n = self.serial
        phrase = f"{PRODUCTS[n % len(PRODUCTS)]}{n:04d}号"
        claim = CLAIMS[n % len(CLAIMS)]
        return Ad(phrase, f"{phrase}限时特惠", f"{phrase}，{claim}，购买请认准本店。")

    def add(self, truth: Truth, response: Response | Dynamic | None = None, link: str = "") -> None:
        """Record ``truth``, serve ``response`` at its path, link ``link`` (default: the path; "-": none) from
        the case's index page."""
        self.truth.append(truth)
        if response is not None:
            self.responses[truth.path] = response
        self.links.setdefault(truth.case, []).append(link or truth.path)


def ad_html(ad: Ad, *, head: str = "", before: str = "", after: str = "", charset: str = "utf-8") -> str:
    meta = f'<meta charset="{charset}">' if charset else ""
    return (
        f"<!DOCTYPE html><html><head>{meta}{head}<title>{h(ad.title)}</title></head><body>{before}"
        f'<div class="ad"><h1 class="ad-title">{h(ad.title)}</h1><div class="ad-body"><p>{h(ad.body)}</p></div></div>'
        f"{after}</body></html>"
    )


def char_refs(text: str) -> str:
    """``text`` in ASCII, each non-ASCII character as a numeric character reference (a browser shows the character)."""
    return text.encode("ascii", errors="xmlcharrefreplace").decode("ascii")


def _html(body: bytes, content_type: str = "text/html; charset=utf-8") -> Response:
    return Response(200, body, content_type)


# --- the cases ------------------------------------------------------------------------------------

CaseBuilder = Callable[[_Pages], None]
CASES: dict[str, CaseBuilder] = {}


def case(name: str) -> Callable[[CaseBuilder], CaseBuilder]:
    def register(builder: CaseBuilder) -> CaseBuilder:
        CASES[name] = builder
        return builder

    return register


def _ad_page(pages: _Pages, name: str, n: int) -> tuple[Ad, str]:
    """A new ad and the path of its page, the ``n``-th of case ``name``."""
    return pages.ad(), f"/ad/{name}/{n}.html"


def _plain(pages: _Pages, name: str, count: int, render: Callable[[Ad, int], Response], doubt: bool = False) -> None:
    """``count`` ad pages of case ``name`` as ``render`` makes them, each ad expected (with a doubt if ``doubt``)."""
    for n in range(count):
        ad, path = _ad_page(pages, name, n)
        pages.add(Truth(name, path, ad.phrase, True, doubt), render(ad, n))


@case("plain")
def plain(pages: _Pages) -> None:
    """Ordinary UTF-8 ad pages: the control."""
    _plain(pages, "plain", 307, lambda ad, n: Response.html(ad_html(ad)))


_REFRESH = '<html><head><meta http-equiv="refresh" content="0; url={}"></head><body>跳转中…</body></html>'


def _offsite(pages: _Pages, name: str, redirect: Callable[[str], Response]) -> None:
    """Pages that send the browser to an ad on another host: a crawl must not follow."""
    for n in range(20):
        ad = pages.ad()
        pages.offsite[f"/ad/{name}/{n}.html"] = Response.html(ad_html(ad))
        target = f"{pages.offsite_url}ad/{name}/{n}.html"
        pages.add(Truth(name, f"/go/{name}/{n}", ad.phrase, False, note="on another host"), redirect(target))


@case("offsite_302_absolute")
def offsite_absolute(pages: _Pages) -> None:
    _offsite(pages, "offsite_302_absolute", lambda target: Response.redirect(target, 302))


@case("offsite_302_scheme_relative")
def offsite_scheme_relative(pages: _Pages) -> None:
    _offsite(pages, "offsite_302_scheme_relative", lambda target: Response.redirect(target.removeprefix("http:"), 302))


@case("offsite_meta_refresh")
def offsite_meta_refresh(pages: _Pages) -> None:
    _offsite(pages, "offsite_meta_refresh", lambda target: Response.html(_REFRESH.format(h(target))))


@case("onsite_redirect")
def onsite_redirect(pages: _Pages) -> None:
    """Redirects and meta refresh within the site: the ad is stored under the URL they end at."""
    kinds: tuple[Callable[[str, str], Response], ...] = (
        lambda host, path: Response.redirect(f"http://{host}{path}", 301),
        lambda host, path: Response.redirect(path, 302),
        lambda host, path: Response.redirect(f"http://{host}{path}", 307),
        lambda host, path: Response.redirect(f"//{host}{path}", 302),
        lambda host, path: Response.html(_REFRESH.format(h(f"http://{host}{path}"))),
    )
    for n in range(20):
        ad, path = _ad_page(pages, "onsite_redirect", n)
        go = f"/go/onsite_redirect/{n}"
        pages.responses[go] = partial(kinds[n % len(kinds)], path=path)
        pages.add(Truth("onsite_redirect", path, ad.phrase, True), Response.html(ad_html(ad)), link=go)


#: Labels that name no text encoding: browsers ignore them and read the bytes.
NONTEXT_LABELS = ("hex", "base64", "rot13", "zlib", "bz2", "uu", "quopri", "punycode")


def _labelled_utf8(pages: _Pages, name: str, labels: tuple[str, ...], count: int) -> None:
    """UTF-8 pages under each of ``labels`` in turn, in the <meta> and on every other page in the header too."""

    def render(ad: Ad, n: int) -> Response:
        label = labels[n % len(labels)]
        return _html(ad_html(ad, charset=label).encode(), f"text/html; charset={label}" if n % 2 else "text/html")

    _plain(pages, name, count, render)


@case("charset_nontext_label")
def charset_nontext_label(pages: _Pages) -> None:
    _labelled_utf8(pages, "charset_nontext_label", NONTEXT_LABELS, 40)


WIDE_LABELS = ("utf-16", "utf-32", "utf-16le", "utf-16be", "UTF-32LE", "ucs-2")


@case("charset_wide_label_ascii")
def charset_wide_label_ascii(pages: _Pages) -> None:
    """A UTF-16/32 label on an ASCII body (the Chinese as character references)."""

    def render(ad: Ad, n: int) -> Response:
        label = WIDE_LABELS[n % len(WIDE_LABELS)]
        body = char_refs(ad_html(ad, charset=label)).encode("ascii")
        return _html(body, f"text/html; charset={label}" if n % 3 == 0 else "text/html")

    _plain(pages, "charset_wide_label_ascii", 30, render)


@case("charset_utf8_bad_bytes")
def charset_utf8_bad_bytes(pages: _Pages) -> None:
    """UTF-8 with a few bad bytes (a truncated character, a stray byte) outside the phrase: stored, with a doubt."""

    def render(ad: Ad, n: int) -> Response:
        html = ad_html(ad, charset="utf-8" if n % 2 else "", after="<p>品质保证，售后无忧，欢迎选购。</p>")
        good = html.encode()
        cut = good.index("购买".encode())
        bad = (b"\xe4\xbd", b"\xff", b"\xc3\x28")[n % 3]
        return _html(good[:cut] + bad + good[cut:], "text/html")

    _plain(pages, "charset_utf8_bad_bytes", 30, render, doubt=True)


FILLER = "本店所有商品均为正品行货，支持七天无理由退换货，全国包邮，欢迎新老顾客选购。"


@case("charset_gbk_undeclared")
def charset_gbk_undeclared(pages: _Pages) -> None:
    def render(ad: Ad, n: int) -> Response:
        return Response.encoded(ad_html(ad, charset="", after=f"<p>{FILLER}</p>"), "gbk", "text/html")

    _plain(pages, "charset_gbk_undeclared", 30, render)


@case("charset_gbk_late_declared")
def charset_gbk_late_declared(pages: _Pages) -> None:
    """GBK declared in a <meta> after 100 KB of the page (browsers look at the first 1,024 bytes only)."""
    padding = "<!-- " + "x" * 100_000 + " -->"

    def render(ad: Ad, n: int) -> Response:
        html = ad_html(ad, charset="", before=padding + '<meta charset="gbk">', after=f"<p>{FILLER}</p>")
        return Response.encoded(html, "gbk", "text/html")

    _plain(pages, "charset_gbk_late_declared", 10, render)


@case("charset_header_utf8_bytes_gbk")
def charset_header_utf8_bytes_gbk(pages: _Pages) -> None:
    """The HTTP header says UTF-8 and the bytes are GBK: read as GBK, with a doubt."""

    def render(ad: Ad, n: int) -> Response:
        html = ad_html(ad, charset="", after=f"<p>{FILLER}</p>")
        return Response.encoded(html, "gbk", "text/html; charset=utf-8")

    _plain(pages, "charset_header_utf8_bytes_gbk", 30, render, doubt=True)


BOMS = (
    (codecs.BOM_UTF8, "utf-8", "gbk"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-8"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "gbk"),
)


@case("charset_bom")
def charset_bom(pages: _Pages) -> None:
    """A byte-order mark outranks the header and the <meta> that contradict it."""

    def render(ad: Ad, n: int) -> Response:
        bom, encoding, claimed = BOMS[n % len(BOMS)]
        return _html(bom + ad_html(ad, charset=claimed).encode(encoding), f"text/html; charset={claimed}")

    _plain(pages, "charset_bom", 30, render)


@case("charset_x_user_defined")
def charset_x_user_defined(pages: _Pages) -> None:
    """x-user-defined (windows-1252 in a <meta>): over ASCII with character references, and over UTF-8 bytes."""

    def render(ad: Ad, n: int) -> Response:
        html = ad_html(ad, charset="x-user-defined")
        return _html(char_refs(html).encode("ascii") if n % 2 else html.encode(), "text/html")

    _plain(pages, "charset_x_user_defined", 20, render)


MISLABELS = ("latin1", "iso-8859-1", "ascii", "windows-1252", "gb2312", "big5", "shift_jis", "koi8-r")


@case("charset_wrong_label_utf8")
def charset_wrong_label_utf8(pages: _Pages) -> None:
    """UTF-8 bytes labelled latin1, gb2312 … (a browser shows mojibake; the crawler reads the bytes)."""
    _labelled_utf8(pages, "charset_wrong_label_utf8", MISLABELS, 24)


#: Python codec names no browser knows, and labels of the Encoding Standard's replacement encoding.
UNKNOWN_LABELS = ("utf_8", "cp936", "utf-7", "mac-roman", "idna", "hz-gb-2312", "iso-2022-kr", "iso-2022-cn")


@case("charset_unknown_label")
def charset_unknown_label(pages: _Pages) -> None:
    _labelled_utf8(pages, "charset_unknown_label", UNKNOWN_LABELS, 24)


@case("json_surrogates")
def json_surrogates(pages: _Pages) -> None:
    """JSON endpoints: four good records (one with a lone surrogate beside its phrase) and one bad record each."""
    bad_records = (
        {"title": "坏记录", "body": "链接坏了", "url": "http://[::1"},
        "这不是一条记录",
        None,
        {"title": {"zh": ["嵌套"]}, "body": [1, 2, {"x": None}], "url": 42},
        {"title": "\ud800", "body": "\udfff\ud800", "url": "/item/json/\ud800"},
    )
    for n in range(20):
        endpoint = f"/api/json/{n}.json"
        records: list[object] = []
        for k in range(4):
            ad = pages.ad()
            title = f"\ud83d{ad.title}" if k == 0 else ad.title
            body = f"{ad.body}\udc00" if k == 1 else ad.body
            path = f"/item/json/{n}-{k}"
            records.append({"title": title, "body": body, "url": path})
            pages.add(Truth("json_surrogates", path, ad.phrase, True), link=endpoint if k == 0 else "-")
        records.insert(n % 5, bad_records[n % len(bad_records)])
        text = json.dumps({"ads": records}, ensure_ascii=True)  # escapes the lone surrogates as \udXXX
        pages.responses[endpoint] = Response(200, text.encode(), "application/json; charset=utf-8")
        pages.add(Truth("json_surrogates", endpoint, note="the bad record"), link="-")


MALFORMED_LINKS = (
    "http://[::1",
    "http://[::1]:99999/",
    "http://%zz/",
    "http://a b/",
    "https://[fe80::1%25en0/",
    "http:///",
    "javascript:alert(1)",
    "mailto:ad@example.com",
    "//[/",
)


@case("malformed_links")
def malformed_links(pages: _Pages) -> None:
    """Each ad is linked from a page whose other links are malformed, before and after it."""
    for n in range(20):
        ad, path = _ad_page(pages, "malformed_links", n)
        bad = "".join(f'<a href="{h(href)}">坏链接</a>' for href in MALFORMED_LINKS)
        hub = f"/hub/malformed_links/{n}.html"
        pages.responses[hub] = Response.html(f"<html><body>{bad}<a href='{path}'>广告</a>{bad}</body></html>")
        pages.add(Truth("malformed_links", path, ad.phrase, True), Response.html(ad_html(ad)), link=hub)


GBK_NAMES = (
    "奶粉", "白糖", "红枣", "枸杞", "蜂蜜", "茶叶", "大米", "香油", "木耳", "核桃",
    "腊肉", "粉丝", "酱油", "米醋", "花椒", "桂圆", "莲子", "银耳", "绿豆", "黄酒",
)  # fmt: skip


def gbk_query_path(name: str) -> str:
    """The canonical URL path of the GBK-query ad ``name``: its query percent-encoded in GBK."""
    return "/q/item?name=" + quote_from_bytes(name.encode("gbk"))


@case("gbk_query")
def gbk_query(pages: _Pages) -> None:
    """Ads whose URLs differ only in a GBK query, linked from a GBK page percent-encoded and in raw bytes."""
    links = []
    for n, name in enumerate(GBK_NAMES):
        ad = pages.ad()
        ad = Ad(ad.phrase, f"{name}：{ad.title}", ad.body)
        html = ad_html(ad, charset="gbk", after=f"<p>{FILLER}</p>")
        path = gbk_query_path(name)
        pages.add(Truth("gbk_query", path, ad.phrase, True), Response.encoded(html, "gbk", "text/html"), link="-")
        links.append(f'<a href="{path if n % 2 else "/q/item?name=" + name}">{name}</a>')
    hub = '<html><head><meta charset="gbk"></head><body>' + "".join(links) + "</body></html>"
    pages.responses["/hub/gbk_query.html"] = Response.encoded(hub, "gbk", "text/html")
    pages.links["gbk_query"] = ["/hub/gbk_query.html"]


@case("deep_nesting")
def deep_nesting(pages: _Pages) -> None:
    """An ad after (or inside) thousands of nested tags."""
    shapes = (("div", 3000, False), ("span", 2500, False), ("font", 5000, False), ("div", 10000, False),
              ("b", 3000, False), ("div", 3000, True))  # fmt: skip

    def render(ad: Ad, n: int) -> Response:
        tag, depth, inside = shapes[n % len(shapes)]
        opened, closed = f"<{tag}>" * depth, f"</{tag}>" * depth
        if inside:
            return Response.html(ad_html(ad, charset="utf-8").replace("<body>", "<body>" + opened).replace(
                "</body>", closed + "</body>"))  # fmt: skip
        return Response.html(ad_html(ad, before=opened + "<span>包装</span>" + closed))

    _plain(pages, "deep_nesting", 24, render)


def _broken(ad: Ad, n: int) -> bytes:
    title, body = h(ad.title), h(ad.body)
    ad_part = f'<div class="ad"><h1 class="ad-title">{title}</h1><div class="ad-body"><p>{body}</p></div></div>'
    variants = (
        # unclosed everything
        f'<html><head><meta charset="utf-8"><title>{title}</title><body><div class="ad"><h1 class="ad-title">{title}'
        f'<div class="ad-body"><p>{body}<p>更多<div><span>',
        # a stray </html> early, the ad after it
        f'<html><head><meta charset="utf-8"></head><body><p>页首</p></body></html>{ad_part}</body></html>',
        # no html, head or body at all
        f'<meta charset="utf-8">{ad_part}',
        # misnested inline tags and a table that fosters its content out
        f'<html><meta charset="utf-8"><body><b><i>促销</b></i><table><tr><td>表格</td>{ad_part}</tr></table>',
        # processing instructions, CDATA and conditional comments around the ad
        f'<?php echo $ad; ?><html><head><meta charset="utf-8"><![CDATA[ x ]]></head><body><!--[if IE]><p>IE</p>'
        f'<![endif]-->{ad_part}<?xml version="1.0"?></body></html>',
        # unquoted and broken attributes, an unclosed comment after the ad
        f'<html><head><meta charset=utf-8></head><body><div class=ad data-x="1"data-y=2><h1 class=ad-title >{title}'
        f"</h1 ><div class=ad-body id=><p>{body}</div></div><!-- 未闭合的注释 <p>看不见",
    )
    return variants[n % len(variants)].encode()


@case("broken_html")
def broken_html(pages: _Pages) -> None:
    _plain(pages, "broken_html", 60, lambda ad, n: _html(_broken(ad, n)))


@case("nul_bytes")
def nul_bytes(pages: _Pages) -> None:
    """NUL bytes in the text, the phrase included (a browser drops them from the text it shows)."""

    def render(ad: Ad, n: int) -> Response:
        page = ad_html(ad, after="<p>售后\x00服务</p>").encode()
        cut = len(ad.phrase) // 2
        return _html(page.replace(ad.phrase[cut:].encode(), b"\x00" + ad.phrase[cut:].encode()))

    _plain(pages, "nul_bytes", 20, render)


INJECTIONS = (
    '<script>alert("xss")</script>',
    '"><svg onload=alert(1)>',
    "'; DROP TABLE ads; --",
    "{{7*7}}${7*7}<%= 7*7 %>",
    "<img src=x onerror=alert(document.cookie)>",
    "javascript:alert(1)//",
)


@case("script_injection")
def script_injection(pages: _Pages) -> None:
    """Payloads as text around the phrase, and real scripts beside the ad."""

    def render(ad: Ad, n: int) -> Response:
        payload = INJECTIONS[n % len(INJECTIONS)]
        ad = Ad(ad.phrase, f"{payload}{ad.title}", f"{ad.body}{payload}")
        script = '<script>document.write("<h1 class=ad-title>假标题</h1>");</script>'
        return Response.html(ad_html(ad, head=script, after=f'<a href="javascript:alert(1)">{h(payload)}</a>'))

    _plain(pages, "script_injection", 30, render)


@case("huge_pages")
def huge_pages(pages: _Pages) -> None:
    """Pages of 2, 3 and 5 MB, the ad at their end."""
    line = f"<p>{FILLER}</p>\n"

    def render(ad: Ad, n: int) -> Response:
        size = (2, 3, 5)[n % 3] * 1024 * 1024
        return Response.html(ad_html(ad, before=line * (size // len(line.encode()))))

    _plain(pages, "huge_pages", 3, render)


@case("slow")
def slow(pages: _Pages) -> None:
    """Pages answering in half a second (stored), and after the profile's timeout (lost: not expected)."""
    for n in range(6):
        ad, path = _ad_page(pages, "slow", n)
        in_time = n % 2 == 0
        delay = 0.5 if in_time else PROFILE_TIMEOUT + 1
        page = Response.html(ad_html(ad))
        note = "" if in_time else "answers after the profile's timeout"
        pages.add(Truth("slow", path, ad.phrase, in_time, note=note), _delayed(page, delay))


def _delayed(response: Response, seconds: float) -> Dynamic:
    def answer(host: str) -> Response:
        time.sleep(seconds)
        return response

    return answer


@case("robots_disallowed")
def robots_disallowed(pages: _Pages) -> None:
    """Ads a browser shows on pages robots.txt forbids: the crawler obeys, so none is expected."""
    for n in range(30):
        ad = pages.ad()
        path = f"/private/ad/robots_disallowed/{n}.html"
        pages.add(Truth("robots_disallowed", path, ad.phrase, False, note="robots.txt forbids it"),
                  Response.html(ad_html(ad)))  # fmt: skip


@case("http_errors")
def http_errors(pages: _Pages) -> None:
    """Links to pages that are gone (404) or fail (500, retried once): no ad."""
    for n in range(20):
        path = f"/ad/http_errors/{n}.html"
        status = 404 if n % 2 else 500
        page = Response.html(f"<html><body><h1>{status}</h1><p>页面出错了</p></body></html>", status)
        pages.add(Truth("http_errors", path, note=f"HTTP {status}"), page)


@case("redirect_loops")
def redirect_loops(pages: _Pages) -> None:
    """Redirects that go round in a circle (two and three steps) or to themselves: no ad."""
    for n in range(10):
        steps = n % 3 + 1
        for step in range(steps):
            target = f"/loop/{n}/{(step + 1) % steps}"
            pages.responses[f"/loop/{n}/{step}"] = Response.redirect(target, 302)
        pages.add(Truth("redirect_loops", f"/loop/{n}/0", note="a redirect loop"))


@case("traps")
def traps(pages: _Pages) -> None:
    """An endless calendar and an endless pagination (any month, any page): no ad; the depth limit ends them."""
    pages.add(Truth("traps", "/calendar/2026-11", note="an endless calendar"))
    pages.add(Truth("traps", "/list/trap?page=1", note="an endless pagination"))


def _calendar(year: int, month: int) -> Response:
    prev = (year - 1, 12) if month == 1 else (year, month - 1)
    nxt = (year + 1, 1) if month == 12 else (year, month + 1)
    links = "".join(f'<a href="/calendar/{y:04d}-{m:02d}">{y}年{m}月</a>' for y, m in (prev, nxt))
    return Response.html(f"<html><body><h2>{year}年{month}月 活动日历</h2>{links}</body></html>")


def _trap_list(page: int) -> Response:
    return Response.html(
        f'<html><body><p>第{page}页，暂无商品</p><a href="/list/trap?page={page + 1}">下一页</a></body></html>'
    )


# --- the site ---------------------------------------------------------------------------------------


def _build(offsite_url: str) -> _Pages:
    pages = _Pages(offsite_url)
    for builder in CASES.values():
        builder(pages)
    return pages


def hostile_truth() -> list[Truth]:
    """Every place of the hostile site with what a crawl must make of it; the same on every call."""
    return _build("http://offsite.invalid/").truth


class HostileSite:
    """The pages of the hostile site and the off-site host, with every request each got.

    ``hits`` counts the site's requests by path, ``offsite_hits`` the off-site host's.
    """

    def __init__(self, offsite_url: str) -> None:
        self.pages = _build(offsite_url)
        self.hits: Counter[str] = Counter()
        self.offsite_hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        index = "".join(f'<li><a href="/case/{name}/">{name}</a></li>' for name in CASES)
        self.pages.responses["/"] = Response.html(f"<html><body><h1>恶意页面测试站</h1><ul>{index}</ul></body></html>")
        for name, links in self.pages.links.items():
            anchors = "".join(f'<a href="{h(link)}">{n}</a> ' for n, link in enumerate(links) if link != "-")
            self.pages.responses[f"/case/{name}/"] = Response.html(
                f"<html><body><h1>{name}</h1>{anchors}</body></html>"
            )
        self.pages.responses["/robots.txt"] = Response.text(ROBOTS)

    def answer(self, raw_path: bytes, host: str) -> Response:
        """The response to a request for ``raw_path`` (path and query as sent) to the host ``host``."""
        path = raw_path.decode("latin-1")
        with self._lock:
            self.hits[path] += 1
        parts = urlsplit(path)
        found = self.pages.responses.get(path)
        if found is None and parts.path == "/q/item":
            found = self.pages.responses.get(gbk_query_path(_gbk_name(parts.query)))
        if found is None:
            found = self._trap(parts.path, parts.query)
        if found is None:
            return Response.html("<html><body><h1>404</h1></body></html>", 404)
        return found(host) if callable(found) else found

    def answer_offsite(self, raw_path: bytes) -> Response:
        """The off-site host's response: the ad a redirect points at."""
        path = raw_path.decode("latin-1")
        with self._lock:
            self.offsite_hits[path] += 1
        return self.pages.offsite.get(path) or Response.html("<html><body><h1>404</h1></body></html>", 404)

    @staticmethod
    def _trap(path: str, query: str) -> Response | None:
        if path.startswith("/calendar/"):
            year, _, month = path.removeprefix("/calendar/").partition("-")
            if year.isdigit() and month.isdigit() and 1 <= int(month) <= 12:
                return _calendar(int(year), int(month))
        if path == "/list/trap" and query.startswith("page=") and query[5:].isdigit():
            return _trap_list(int(query[5:]))
        return None

    def trap_hits(self) -> int:
        """Requests for the endless calendar and pagination."""
        return sum(count for path, count in self.hits.items() if path.startswith(("/calendar/", "/list/trap")))


def _gbk_name(query: str) -> str:
    """The ``name`` of a GBK query, percent-encoded or sent as raw bytes (which arrive as latin-1)."""
    raw = query.removeprefix("name=")
    return unquote_to_bytes(raw.encode("latin-1")).decode("gbk", errors="replace")


def _handler(answer: Callable[[bytes, str], Response]) -> type[BaseHTTPRequestHandler]:
    class HostileHandler(BaseHTTPRequestHandler):
        server_version = "nginx/1.24.0"
        sys_version = ""

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            response = answer(self.path.encode("latin-1"), self.headers.get("Host", ""))
            try:
                send(self, response)
            except (BrokenPipeError, ConnectionResetError):  # a crawler that gave up waiting (the slow pages)
                pass

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    return HostileHandler


class HostileWeb:
    """The hostile site on 127.0.0.1 and the off-site host it points at, as ``localhost`` on the next port.

    ``port=None`` binds both to free ports (tests).
    """

    def __init__(self, port: int | None = HOSTILE_PORT) -> None:
        self.port = port
        self.base_url = ""
        self.offsite_url = ""
        self.site: HostileSite | None = None
        self._servers: list[SiteServer] = []

    def start(self) -> HostileWeb:
        try:
            offsite = self._serve(None if self.port is None else self.port + 1, lambda path, host: self._offsite(path))
            self.offsite_url = f"http://{OFFSITE_HOST}:{offsite.server_address[1]}/"
            self.site = HostileSite(self.offsite_url)
            server = self._serve(self.port, self.site.answer)
        except OSError:
            self.stop()
            raise
        self.base_url = f"http://127.0.0.1:{server.server_address[1]}/"
        return self

    def _offsite(self, path: bytes) -> Response:
        assert self.site is not None
        return self.site.answer_offsite(path)

    def _serve(self, port: int | None, answer: Callable[[bytes, str], Response]) -> SiteServer:
        server = SiteServer(("127.0.0.1", port or 0), _handler(answer))
        threading.Thread(target=server.serve_forever, name="sandbox-hostile", daemon=True).start()
        self._servers.append(server)
        return server

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def __enter__(self) -> HostileWeb:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self.stop()


__all__ = ["CASES", "KEY", "HostileSite", "HostileWeb", "Truth", "hostile_truth"]

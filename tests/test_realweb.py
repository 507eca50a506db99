"""Real saved pages, served over a real local HTTP server: encoding detection and profile extraction.

The 92 pages live outside the repository, in ``../shared/realweb`` next to it
(or wherever ``ADWATCH_REALWEB_DIR`` points), described one per line in its
``manifest.jsonl``.  They are never copied into the repository; when the folder
is absent the whole module is skipped.

Every page is fetched with urllib from a ``ThreadingHTTPServer`` that sends the
bytes unchanged, and decoded by the real ``EncodingMiddleware``.  The server
answers ``GET /<charset>/<file>`` with ``Content-Type: text/html; charset=<charset>``,
or plain ``text/html`` when ``<charset>`` is ``none``, so each page can be tried
with no charset at all, with what it declares, and with a lying header.

The expected titles, prices and shops in the extraction tables were read off the
pages themselves (and agree with the manifest notes); they are the ground truth.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit
from urllib.request import urlopen

import pytest
from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.http import HtmlResponse, Request, TextResponse
from scrapy.utils.test import get_crawler

from crawler.encoding import normalise_name
from crawler.extract import extract_record, records
from crawler.middlewares.encoding import EncodingMiddleware
from crawler.pipelines.normalise import clean_text, parse_prices
from crawler.profiles import Profile, load_profile, load_profiles
from tests.conftest import unavailable

REPO = Path(__file__).resolve().parents[1]
PROFILE_DIR = REPO / "crawler" / "profiles"
REALWEB = Path(os.environ.get("ADWATCH_REALWEB_DIR") or REPO.parent / "shared" / "realweb").resolve()

if not (REALWEB / "manifest.jsonl").is_file():
    unavailable(
        f"real saved pages not found: no manifest.jsonl in {REALWEB} (set ADWATCH_REALWEB_DIR to the realweb folder)",
        module=True,
    )

MANIFEST: dict[str, dict] = {
    page["file"]: page
    for page in (json.loads(line) for line in (REALWEB / "manifest.jsonl").read_text(encoding="utf-8").splitlines())
}
FILES = sorted(MANIFEST)
DECLARING = [f for f in FILES if MANIFEST[f]["encoding"]]

# Pages whose manifest title cannot be found in the page, and the distinctive text looked for instead.
TITLE_PROBES = {
    # A PHP template fragment saved unrendered: no <title>; the title is the $pageTitle variable.
    "iee-homework-crawl/httpswww.taobao.commarket3cershoushuma.html": '$pageTitle = "玩转二手--数码专场"',
}
_SPACES = re.compile(r"\s+")


def squash(text: str) -> str:
    """Runs of whitespace folded to one space: manifest titles are folded, some <title>s have double spaces."""
    return _SPACES.sub(" ", text).strip()


def family(encoding: str) -> str:
    """Compare encodings by family: GBK, GB2312 and GB18030 are one; ASCII is read as UTF-8."""
    if encoding.lower() == "ascii":  # a manifest name; as a charset label it names windows-1252
        return "utf-8"
    return normalise_name(encoding) or encoding.lower()


# --- the server -------------------------------------------------------------------------------


class RealwebHandler(BaseHTTPRequestHandler):
    """``GET /<charset>/<file>``: the file's bytes unchanged, as ``text/html`` with that charset."""

    root: Path = REALWEB

    def do_GET(self) -> None:
        charset, _, name = unquote(urlsplit(self.path).path).lstrip("/").partition("/")
        path = (self.root / name).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "text/html" if charset == "none" else f"text/html; charset={charset}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def realweb_server() -> Iterator[str]:
    """The realweb folder on a free local port for the whole session; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), RealwebHandler)
    thread = threading.Thread(target=server.serve_forever, name="realweb-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def crawler() -> Crawler:
    return get_crawler(Spider, {"ADWATCH_ENCODING_ENABLED": True})


@dataclass
class Fetched:
    url: str
    body: bytes
    headers: dict[str, str]

    def response(self, url: str | None = None) -> HtmlResponse:
        """What the downloader would hand over, as Scrapy itself would decode it."""
        return HtmlResponse(url=url or self.url, body=self.body, headers=self.headers)


def fetch(base_url: str, file: str, charset: str = "none") -> Fetched:
    url = f"{base_url}/{quote(charset)}/{quote(file)}"
    with urlopen(url, timeout=10) as answer:
        return Fetched(url, answer.read(), dict(answer.headers.items()))


def decode(crawler: Crawler, response: HtmlResponse) -> TextResponse:
    """The response after the real EncodingMiddleware has seen it."""
    middleware = EncodingMiddleware.from_crawler(crawler)
    decoded = middleware.process_response(Request(response.url), response, Spider(name="realweb"))
    assert isinstance(decoded, TextResponse)
    return decoded


def title_probe(file: str) -> str:
    return TITLE_PROBES.get(file) or squash(MANIFEST[file]["title"])


# --- the pages themselves ---------------------------------------------------------------------


def test_manifest_lists_every_page_and_the_bytes_are_unchanged() -> None:
    assert len(MANIFEST) == 92
    for file, page in MANIFEST.items():
        body = (REALWEB / file).read_bytes()
        assert len(body) == page["bytes"], file
        assert hashlib.sha256(body).hexdigest() == page["sha256"], file


def test_server_sends_bytes_unchanged_without_charset(realweb_server: str) -> None:
    file = "opengraphscraperpages/tmall.html"
    fetched = fetch(realweb_server, file)
    assert fetched.headers["Content-Type"] == "text/html"
    assert fetched.body == (REALWEB / file).read_bytes()


def test_titles_missing_from_the_html_are_probed_for_a_reason() -> None:
    """Only pages without a usable title get a substitute probe; reconstructed pages keep their real titles."""
    for file in TITLE_PROBES:
        assert MANIFEST[file]["title"] is None or squash(MANIFEST[file]["title"]) not in squash(
            (REALWEB / file).read_bytes().decode(family(MANIFEST[file]["actual_encoding"]), "replace")
        )
    reconstructed = [f for f, p in MANIFEST.items() if p.get("provenance") == "reconstructed_from_index_text"]
    assert len(reconstructed) == 3 and not set(reconstructed) & set(TITLE_PROBES)


# --- encoding: every page --------------------------------------------------------------------


@pytest.mark.parametrize("file", FILES, ids=FILES)
def test_encoding_without_charset_header(realweb_server: str, crawler: Crawler, file: str) -> None:
    """No charset in the header: the middleware must find the real encoding in the bytes."""
    page = MANIFEST[file]
    response = decode(crawler, fetch(realweb_server, file).response())
    assert family(response.encoding) == family(page["actual_encoding"])
    assert title_probe(file) in squash(response.text)


@pytest.mark.parametrize("file", DECLARING, ids=DECLARING)
def test_encoding_with_declared_charset_header(realweb_server: str, crawler: Crawler, file: str) -> None:
    """The server repeats what the page declares (gb2312 over UTF-8 bytes included): the bytes still win."""
    page = MANIFEST[file]
    response = decode(crawler, fetch(realweb_server, file, page["encoding"]).response())
    assert family(response.encoding) == family(page["actual_encoding"])
    assert title_probe(file) in squash(response.text)


def test_middleware_counts_encodings(realweb_server: str) -> None:
    crawler = get_crawler(Spider, {"ADWATCH_ENCODING_ENABLED": True})
    decode(crawler, fetch(realweb_server, "opengraphscraperpages/tmall.html").response())
    decode(crawler, fetch(realweb_server, "opengraphscraperpages/qq.html").response())
    assert crawler.stats.get_value("encoding/gb18030") == 1
    assert crawler.stats.get_value("encoding/utf-8") == 1


# --- encoding: the hard cases, named ---------------------------------------------------------


@dataclass(frozen=True)
class HardCase:
    id: str
    file: str
    charset: str  # what the server sends; "none" for no charset
    expected: str
    probe: str
    scrapy_alone_wrong: bool  # whether Scrapy's own decoding, without the middleware, loses the probe


HARD_CASES = [
    HardCase(
        "gbk-declared-155kb-in",
        "opengraphscraperpages/tmall.html",
        "none",
        "gb18030",
        "【官网价直降】Apple/苹果 iPhone 11",
        True,
    ),
    HardCase(
        "gbk-bytes-under-utf8-header",
        "opengraphscraperpages/tmall.html",
        "utf-8",
        "gb18030",
        "苏宁易购官方旗舰店",
        True,
    ),
    HardCase(
        "gbk-declared-149kb-in-over-utf8",
        "opengraphscraperpages/taobao.html",
        "gbk",
        "utf-8",
        "乳白亚克力外壳 60%键盘外壳",
        True,
    ),
    HardCase(
        "gb2312-declared-over-utf8",
        "gne/tests/hexun/1.html",
        "none",
        "utf-8",
        "交通运输部：着力打造京津冀区域综合立体交通网络",
        True,
    ),
    HardCase(
        "gb2312-header-over-utf8",
        "gne/tests/people/1.html",
        "GB2312",
        "utf-8",
        "女儿出嫁，郑板桥画了几笔兰花当嫁妆",
        True,
    ),
    HardCase(
        "gb2312-declared-over-utf8-benchmark",
        "magic-html-benchmark/0987b0ff61a8eca73758b6c328af71dca752bdfa9e7e0139dad6f08c29252960.html",
        "none",
        "utf-8",
        "上海长江医院",
        True,
    ),
    HardCase(
        "no-declaration-utf8",
        "opengraphscraperpages/qq.html",
        "none",
        "utf-8",
        "塞尔维亚宵禁引发十年最大规模抗议",
        False,
    ),
    HardCase(
        "no-declaration-gbk",
        "iee-homework-crawl/httpswww.taobao.commarket3cershoushuma.html",
        "none",
        "gb18030",
        "假一赔三",
        False,
    ),
    HardCase("gb2312-real-gb-bytes", "spider-first/weibo.html", "none", "gb18030", "Sina Visitor System", False),
    HardCase("ascii-redirect-stub", "jscryptominerstudy/yaofangwang.com", "none", "utf-8", "Object moved", False),
]


@pytest.mark.parametrize("case", HARD_CASES, ids=[c.id for c in HARD_CASES])
def test_hard_encoding_cases(realweb_server: str, crawler: Crawler, case: HardCase) -> None:
    fetched = fetch(realweb_server, case.file, case.charset)
    if case.scrapy_alone_wrong:
        assert case.probe not in squash(fetched.response().text), "Scrapy alone already decodes this page"
    response = decode(crawler, fetched.response())
    assert family(response.encoding) == case.expected
    assert case.probe in squash(response.text)


# --- profiles --------------------------------------------------------------------------------


def test_profiles_load() -> None:
    profiles = load_profiles([PROFILE_DIR])
    assert {"jd_item", "jd_search", "taobao_search", "alibaba_1688"} <= set(profiles)
    for name in ("jd_item", "jd_search", "taobao_search", "alibaba_1688"):
        profile = profiles[name]
        assert profile.group == "real"
        assert profile.politeness.download_delay >= 1
        assert profile.politeness.concurrency == 2
        assert profile.politeness.obey_robots


def profile(name: str) -> Profile:
    return load_profile(PROFILE_DIR / f"{name}.yaml")


def extracted(crawler: Crawler, fetched: Fetched, profile_name: str, url: str) -> list[dict]:
    """Every record the profile's item rule for ``url`` extracts, titles cleaned and prices parsed."""
    rule = profile(profile_name).item_rule_for(url)
    assert rule is not None, f"{profile_name} has no item rule for {url}"
    response = decode(crawler, fetched.response(url))
    found = []
    for node in records(response.selector, rule):
        fields = extract_record(node, rule)
        prices = fields.get("prices", [])
        found.append(
            {
                "title": clean_text(fields.get("title", "")),
                "prices": parse_prices([prices] if isinstance(prices, str) else prices),
                "seller": clean_text(fields.get("seller", "")),
                "url": fields.get("url", ""),
            }
        )
    return found


# JD item pages (2018, GBK): (file name, a distinctive part of the title, shop).  The whole
# extracted title must also be part of the manifest's <title>.  The price is a placeholder
# ("￥ .00", or just "￥" on some templates, nothing on the delisted Max3 page) filled by
# JavaScript from p.3.cn: over plain HTTP no price exists, so the expected price list is empty.
JD_ITEMS = [
    ("httpsitem.jd.com12290026.html", "考研英语词汇识记与应用大全", "新东方京东自营官方店"),
    ("httpsitem.jd.com1593132708.html", "小米手环3代nfc版", "圆迈智能旗舰店"),
    ("httpsitem.jd.com1964838800.html", "YA-MAN 雅萌 HRF-11/10T", "腾威国际专营店"),
    ("httpsitem.jd.com23349259601.html", "Artistic&Co. Dr ghost", "ElectronPartner海外旗舰店"),
    ("httpsitem.jd.com30681277055.html", "瘦脸仪 瘦脸神器", "盛世汇海外专营店"),
    ("httpsitem.jd.com31633381178.html", "定金3000元", "淘乡车汽车专营店"),
    ("httpsitem.jd.com32083666994.html", "Au999元宝金砖金条", "纯信达珠宝官方旗舰店"),
    ("httpsitem.jd.com32568011057.html", "猫眼石手链", "范米粒旗舰店"),
    ("httpsitem.jd.com33737545026.html", "海外版有锁激活", "XINKE全球购专营店"),
    ("httpsitem.jd.com4058721.html", "Beauty BAR 24k黄金棒", "全球购家电京东自营专区"),
    ("httpsitem.jd.com7638405.html", "无抗生素 原色营养", "蛋类京东自营专区"),
    ("httpsitem.jd.com7652121.html", "巨无霸级全面屏", "小米京东自营旗舰店"),
    ("httpsitem.jd.com8735304.html", "千元屏霸", "荣耀京东自营旗舰店"),
    ("httpsitem.jd.com906624.html", "晒后修复", "自然共和国京东自营官方旗舰店"),
    # Same template on JD's pharmacy domain, selling a mouse.
    ("httpsitem.yiyaojd.com1564477.html", "FM110 有线鼠标", "惠普京东自营官方旗舰店"),
]


def jd_item_url(name: str) -> str:
    host, _, sku = name.removeprefix("https").removesuffix(".html").partition(".com")
    return f"https://{host}.com/{sku}.html"


@pytest.mark.parametrize(("name", "title_part", "shop"), JD_ITEMS, ids=[n for n, _, _ in JD_ITEMS])
def test_jd_item_extraction(realweb_server: str, crawler: Crawler, name: str, title_part: str, shop: str) -> None:
    file = f"iee-homework-crawl/{name}"
    [item] = extracted(crawler, fetch(realweb_server, file), "jd_item", jd_item_url(name))
    assert title_part in item["title"]
    assert item["title"] in squash(MANIFEST[file]["title"])
    assert not item["title"].startswith("自营"), "the 自营 badge is not part of the title"
    assert item["prices"] == []
    assert item["seller"] == shop


@dataclass(frozen=True)
class ListingPage:
    profile: str
    file: str
    url: str
    count: int
    without_seller: int
    samples: dict[int, tuple[str, list[float], str]]  # record index -> (part of the title, prices, seller)
    not_in_titles: str  # badge or promo text next to the title that must not leak into it


LISTING_PAGES = [
    # JD search "手机" (2024): the 60 li.gl-item listings; the note's ￥1999.00, ￥1199.00 are the first two.
    # "电竞手机" spans the <font> that highlights the query; the promo line in <i> stays out of the title.
    ListingPage(
        "jd_search",
        "spider-first/JD.html",
        "https://search.jd.com/Search?keyword=%E6%89%8B%E6%9C%BA&enc=utf-8",
        count=60,
        without_seller=0,
        samples={
            0: ("超薄蓝海电池 电竞手机", [1999.0], "iQOO京东自营官方旗舰店"),
            1: ("Redmi Note 12T Pro", [1199.0], "小米京东自营旗舰店"),
            36: ("K580老年机", [259.0], "守护宝旗舰店"),
            59: ("诺基亚NOKIA新105", [199.0], "诺基亚手机京东自营旗舰店"),
        },
        not_in_titles="下单赠耳机",
    ),
    # Taobao search "ipad" (2018, rendered DOM): 48 listings.  The 4 without a shop are Taobao's own
    # product aggregations.  The note's ¥4146.00/¥2135.00 belong to the SPU comparison strip above
    # the grid, which is not a listing and is not extracted.  "9.7英寸iPad 智能" spans the highlight.
    ListingPage(
        "taobao_search",
        "scrapypyppeteer/taobao.html",
        "https://s.taobao.com/search?q=ipad",
        count=48,
        without_seller=4,
        samples={
            0: ("9.7英寸iPad 智能平板电脑", [2288.0], "苏宁易购官方旗舰店"),
            3: ("Apple/苹果 iPad", [2565.0], ""),
            45: ("类纸贴膜", [89.0], "estarjpd"),
            47: ("ipad迷你2", [1180.0], "葛给力服饰"),
        },
        not_in_titles="人付款",
    ),
    # 1688 "手机数据线" (2024): 20 offers; "¥ 1 .74" is split across three text nodes, and the seller
    # is only in the percent-encoded Wangwang nick (decoded: 荣亮达电子, the loginId in the page JSON).
    ListingPage(
        "alibaba_1688",
        "spider-first/1688.html",
        "https://p4psearch.1688.com/page.html?hpageId=old-sem-pc-list&keywords=%E6%89%8B%E6%9C%BA%E6%95%B0%E6%8D%AE%E7%BA%BF",
        count=20,
        without_seller=0,
        samples={
            0: ("双Type-c头PD数据传输", [1.74], "荣亮达电子"),
            3: ("Type-c单头数据线6A闪充", [0.53], "鼎晟数码科技"),
            16: ("马卡龙三合一数据线", [9.8], "腾达远电子"),
            18: ("品胜数据线", [7.8], "广州汇好科技有限公司"),
        },
        not_in_titles="1688爆品",
    ),
]


@pytest.mark.parametrize("page", LISTING_PAGES, ids=[p.file for p in LISTING_PAGES])
def test_listing_extraction(realweb_server: str, crawler: Crawler, page: ListingPage) -> None:
    items = extracted(crawler, fetch(realweb_server, page.file), page.profile, page.url)
    assert len(items) == page.count
    for item in items:
        assert item["title"] and item["url"]
        assert len(item["prices"]) == 1 and item["prices"][0] > 0, item
    assert sum(1 for item in items if not item["seller"]) == page.without_seller
    assert not [item["title"] for item in items if page.not_in_titles in item["title"]]
    for index, (title_part, prices, seller) in page.samples.items():
        assert title_part in items[index]["title"]
        assert (items[index]["prices"], items[index]["seller"]) == (prices, seller)


def test_profile_rules_match_only_their_pages() -> None:
    assert profile("jd_item").item_rule_for("https://item.jd.com/100105483276.html") is not None
    assert profile("jd_item").item_rule_for("https://item.jd.com/100105483276.html#comment") is not None
    assert profile("jd_item").item_rule_for("https://item.jd.com/") is None
    assert profile("jd_search").item_rule_for("https://search.jd.com/Search?keyword=x&enc=utf-8&page=3") is not None
    assert profile("jd_search").item_rule_for("https://search.jd.com/") is None
    assert profile("taobao_search").item_rule_for("https://s.taobao.com/search?q=ipad&s=44") is not None
    assert profile("alibaba_1688").item_rule_for("https://p4psearch.1688.com/page.html?keywords=x") is not None

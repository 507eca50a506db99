"""悦活优选商城: a health and beauty shop whose content only JavaScript shows.

Every page is an empty shell that scripts fill in, so a plain HTTP crawler sees no
product and no claim:

* the home page and the listing are built from JSON fetched by script;
* the listing (``/list``) scrolls infinitely: more items are fetched as the page is
  scrolled to its end;
* a product page carries its title, price and seller base64-encoded in an inline
  script, and fetches its copy, claims included, by XMLHttpRequest as JSON;
* its images are lazy: the script sets each ``src`` and ``alt`` only once the image
  is scrolled into view, and one ad's only claim is such an alt text;
* one product page never finishes loading: its live-chat widget script never
  completes (``NEVER_LOADS_ITEM``).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from typing import ClassVar

from sandbox.catalog import Ad, Catalog
from sandbox.sites.base import Handler, Query, Response, Site, money, pages, query_int

PAGE_SIZE = 5
NEVER_LOADS_ITEM = 5003
LAZY_ALT_ITEM = 5015
NEVER_LOADS_SCRIPT = "/stream/live-chat.js"
# How long the never-finishing resource holds its connection open before it gives up.
HANG_SECONDS = 300.0

_STYLE = """<style>
.goods-card { height: 200px; border-bottom: 1px solid #eee; }
.goods-spec { height: 1600px; }
.gallery img { display: block; width: 400px; height: 400px; }
</style>"""

_LIST_SCRIPT = """<script>
(function () {
  var list = document.getElementById("list"), more = document.getElementById("more");
  var next = "/api/list?page=1", busy = false;
  function card(item) {
    var div = document.createElement("div");
    div.className = "goods-card";
    var a = document.createElement("a");
    a.className = "name"; a.href = item.url; a.textContent = item.title;
    var em = document.createElement("em");
    em.className = "price"; em.textContent = item.price;
    div.appendChild(a); div.appendChild(em);
    list.appendChild(div);
  }
  function load() {
    if (!next || busy) return;
    busy = true;
    fetch(next).then(function (r) { return r.json(); }).then(function (data) {
      data.items.forEach(card);
      next = data.next; busy = false;
      more.textContent = next ? "上拉加载更多" : "没有更多了";
      if (next) observer.unobserve(more), observer.observe(more);
    });
  }
  var observer = new IntersectionObserver(function (entries) {
    if (entries.some(function (e) { return e.isIntersecting; })) load();
  });
  observer.observe(more);
})();
</script>"""

_HOME_SCRIPT = """<script>
fetch("/api/home.json").then(function (r) { return r.json(); }).then(function (data) {
  var app = document.getElementById("app");
  data.links.forEach(function (link) {
    var a = document.createElement("a");
    a.href = link.url; a.textContent = link.title; a.className = link.kind;
    var li = document.createElement("li"); li.appendChild(a); app.appendChild(li);
  });
});
</script>"""

# Fills the product page: seed data from the inline script, copy by XHR, alts when scrolled into view.
_GOODS_SCRIPT = """<script>
(function () {
  var bytes = Uint8Array.from(atob("%(seed)s"), function (c) { return c.charCodeAt(0); });
  var seed = JSON.parse(new TextDecoder().decode(bytes));
  document.title = seed.title + " - " + seed.site;
  document.querySelector(".goods-title").textContent = seed.title;
  document.querySelector(".price-line .price").textContent = seed.prices[0];
  var market = document.querySelector(".price-line .market-price");
  if (seed.prices.length > 1) market.textContent = seed.prices[1]; else market.remove();
  document.querySelector(".store .store-name").textContent = seed.seller;
  var crumb = document.querySelector(".breadcrumb a.category");
  crumb.href = "/category/" + seed.category; crumb.textContent = seed.category_name;
  var xhr = new XMLHttpRequest();
  xhr.open("GET", "/api/goods/%(number)d/detail.json");
  xhr.onload = function () {
    var detail = JSON.parse(xhr.responseText), desc = document.querySelector(".goods-desc");
    detail.paragraphs.forEach(function (text) {
      var p = document.createElement("p"); p.textContent = text; desc.appendChild(p);
    });
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (!entry.isIntersecting) return;
        var img = entry.target, i = Number(img.dataset.index);
        img.src = img.dataset.src; img.alt = detail.alts[i];
        observer.unobserve(img);
      });
    });
    document.querySelectorAll(".gallery img.lazy").forEach(function (img) { observer.observe(img); });
  };
  xhr.send();
})();
</script>"""

_BENCH_SCRIPT = """<script>
document.querySelector(".bench-item h1").textContent = "测试商品 %(number)d 号";
fetch("/api/bench/%(number)d.json").then(function (r) { return r.json(); }).then(function (data) {
  var desc = document.querySelector(".desc");
  data.paragraphs.forEach(function (text) {
    var p = document.createElement("p"); p.textContent = text; desc.appendChild(p);
  });
});
</script>"""


class JsmallSite(Site):
    key = "jsmall"
    robots = "User-agent: *\nDisallow: /admin/\nDisallow: /cart/\n"
    nav: ClassVar[tuple[tuple[str, str], ...]] = ()

    def __init__(self, catalog: Catalog, slow_seconds: float = 3.0) -> None:
        super().__init__(catalog, slow_seconds=slow_seconds)
        self._lock = threading.Lock()
        self.hanging_requests = 0  # how often the never-finishing resource was asked for (tests watch it)
        self.bench_pages_served = 0  # generated pages served (bench/bench_render.py watches it)

    def routes(self) -> list[tuple[str, Handler]]:
        return [
            (r"/", self.home),
            (r"/list", self.listing),
            (r"/goods/(\d+)\.html", self.goods),
            (r"/api/home\.json", self.api_home),
            (r"/api/list", self.api_list),
            (r"/api/goods/(\d+)/detail\.json", self.api_detail),
            (r"/img/\d+_\d+\.jpg", lambda m, q: Response(200, b"", "image/jpeg")),
            (re.escape(NEVER_LOADS_SCRIPT), self.never_loads),
            (r"/bench/index\.html", self.bench_index),
            (r"/bench/(\d+)\.html", self.bench_page),
            (r"/api/bench/(\d+)\.json", self.api_bench),
        ]

    def _ads(self) -> list[Ad]:
        return self.catalog.for_site(self.key)

    def _ad(self, number: str) -> Ad | None:
        return self.catalog.find(self.key, f"/goods/{number}.html")

    def _shell(self, title: str, main: str, script: str) -> Response:
        return Response.html(self.layout(title, f"{_STYLE}\n{main}\n{script}"))

    # --- pages: shells the scripts fill in ---------------------------------

    def home(self, match: re.Match[str], query: Query) -> Response:
        main = '<section class="home"><h2>热门推荐</h2><ul id="app"></ul></section>'
        return self._shell("首页", main, _HOME_SCRIPT)

    def listing(self, match: re.Match[str], query: Query) -> Response:
        main = '<h1>全部商品</h1><div id="list"></div><div id="more">加载中…</div>'
        return self._shell("全部商品", main, _LIST_SCRIPT)

    def goods(self, match: re.Match[str], query: Query) -> Response:
        ad = self._ad(match[1])
        if ad is None:
            return self.not_found()
        imgs = "".join(
            f'<img class="lazy" data-index="{i}" data-src="/img/{ad.number}_{i + 1}.jpg" alt="">'
            for i in range(len(ad.image_alts))
        )
        widget = f'<script async src="{NEVER_LOADS_SCRIPT}"></script>' if ad.number == NEVER_LOADS_ITEM else ""
        main = f"""<div class="breadcrumb"><a href="/">首页</a> / <a class="category"></a></div>
<div class="goods">
<h1 class="goods-title"></h1>
<div class="price-line">售价：<em class="price"></em> <s class="market-price"></s></div>
<div class="store">销售方：<span class="store-name"></span></div>
<div class="goods-desc"></div>
<div class="goods-spec">规格参数与售后说明</div>
<div class="gallery">{imgs}</div>
</div>{widget}"""
        seed = _seed(ad, self.name, self.catalog.category_names[ad.category])
        return self._shell("商品详情", main, _GOODS_SCRIPT % {"seed": seed, "number": ad.number})

    # --- JSON the scripts fetch ---------------------------------------------

    def api_home(self, match: re.Match[str], query: Query) -> Response:
        hot = [{"url": ad.path, "title": ad.title, "kind": "hot"} for ad in self._ads()[:3]]
        return Response.json({"links": [*hot, {"url": "/list", "title": "全部商品", "kind": "all"}]})

    def api_list(self, match: re.Match[str], query: Query) -> Response:
        page = query_int(query, "page")
        shown, last = pages(self._ads(), page, PAGE_SIZE)
        items = [{"url": ad.path, "title": ad.title, "price": money(ad.prices[0])} for ad in shown]
        return Response.json({"items": items, "next": f"/api/list?page={page + 1}" if page < last else None})

    def api_detail(self, match: re.Match[str], query: Query) -> Response:
        ad = self._ad(match[1])
        if ad is None:
            return Response.json({"error": "not found"})
        return Response.json({"paragraphs": list(ad.paragraphs), "alts": list(ad.image_alts)})

    def never_loads(self, match: re.Match[str], query: Query) -> Response:
        """A resource that never completes (within any crawl's patience)."""
        with self._lock:
            self.hanging_requests += 1
        time.sleep(HANG_SECONDS)
        return Response(200, b"/* live chat offline */", "application/javascript")

    # --- generated pages for bench/bench_render.py (not linked from the shop) ---

    def bench_index(self, match: re.Match[str], query: Query) -> Response:
        count = query_int(query, "count", 100)
        links = "".join(f'<li><a href="/bench/{n}.html">商品 {n}</a></li>' for n in range(1, count + 1))
        return Response.html(self.layout("基准页面", f"<ul>{links}</ul>"))

    def bench_page(self, match: re.Match[str], query: Query) -> Response:
        with self._lock:
            self.bench_pages_served += 1
        main = '<div class="bench-item"><h1></h1><div class="desc"></div></div>'
        return self._shell("商品详情", main, _BENCH_SCRIPT % {"number": int(match[1])})

    def api_bench(self, match: re.Match[str], query: Query) -> Response:
        n = int(match[1])
        paragraphs = [f"第 {n} 号测试商品，规格 {n % 7 + 1} 件装。", "支持七天无理由退货。", "具体以实物为准。"]
        return Response.json({"paragraphs": paragraphs})


def _seed(ad: Ad, site_name: str, category_name: str) -> str:
    """Title, prices and seller, base64-encoded UTF-8 JSON: there for the script, invisible to HTML parsers."""
    data = {
        "title": ad.title,
        "prices": [money(p) for p in ad.prices],
        "seller": ad.seller,
        "site": site_name,
        "category": ad.category,
        "category_name": category_name,
    }
    return base64.b64encode(json.dumps(data, ensure_ascii=False).encode("utf-8")).decode("ascii")

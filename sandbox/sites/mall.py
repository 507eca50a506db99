"""优品商城: an e-commerce platform with shops, listings, a JSON search API and most of the traps."""

from __future__ import annotations

import re
from typing import ClassVar
from urllib.parse import urlencode

from sandbox.catalog import MALL_XSS_ITEM, XSS_PAYLOAD, Ad
from sandbox.sites.base import Handler, Query, Response, Site, h, link, pages, paragraphs, query_int

LIST_SIZE = 12
SEARCH_SIZE = 20
# Trap pages (see sandbox.manifest.TRAPS).
BROKEN_HTML_ITEM = 1013
WRONG_CHARSET_SHOP = 33
OLD_URL_ITEM = 1005
GO_CHAIN_ITEM = 1010


class MallSite(Site):
    key = "mall"
    robots = "User-agent: *\nDisallow: /admin/\nDisallow: /cart/\n"
    nav: ClassVar[tuple[tuple[str, str], ...]] = (
        ("/list/food", "食品饮料"),
        ("/list/cosmetics", "美妆个护"),
        ("/list/general", "家居百货"),
        ("/list/health_food", "营养保健"),
        ("/list/medical_device", "医疗器械"),
    )

    def routes(self) -> list[tuple[str, Handler]]:
        return [
            (r"/", self.home),
            (r"/list/([a-z_]+)", self.listing),
            (r"/item/(\d+)\.html", self.item),
            (r"/shop/(\d+)\.html", self.shop),
            (r"/api/search", self.search),
            (r"/old/item/(\d+)\.html", lambda m, q: Response.redirect(f"/item/{m[1]}.html", 301)),
            (r"/go/(\d+)", lambda m, q: Response.redirect(f"/r/{m[1]}", 302)),
            (r"/r/(\d+)", lambda m, q: Response.redirect(f"/item/{m[1]}.html", 302)),
        ]

    def _ads(self, category: str | None = None) -> list[Ad]:
        return [ad for ad in self.catalog.for_site("mall") if category is None or ad.category == category]

    def _card(self, ad: Ad, params: dict[str, str]) -> str:
        href = f"{ad.path}?{urlencode(params)}"
        return (
            f'<li class="goods-card"><a class="goods-link" href="{h(href)}">'
            f'<img src="/img/{ad.number}_1.jpg" alt="{h(ad.image_alts[0])}">'
            f'<span class="goods-title">{h(ad.title)}</span></a>'
            f'<span class="goods-price">{h(f"¥{ad.prices[0]:.2f}")}</span>'
            f'<a class="goods-shop" href="/shop/{ad.extra["shop_id"]}.html">{h(ad.seller)}</a></li>'
        )

    def home(self, match: re.Match[str], query: Query) -> Response:
        picks = self._ads()[::10]
        cards = "".join(
            self._card(ad, {"utm_source": "home", "utm_medium": "rec", "utm_campaign": "double11"}) for ad in picks
        )
        cats = "".join(f"<li>{link(href, text)}</li>" for href, text in self.nav)
        shops = "".join(f"<li>{link(f'/shop/{i}.html', name)}</li>" for i, (name, _) in self.catalog.mall_shops.items())
        promos = " ".join(
            [
                link(f"/old/item/{OLD_URL_ITEM}.html", "上周爆款回顾"),
                link(f"/go/{GO_CHAIN_ITEM}", "今日推荐"),
                link("/promo/flash-sale.html", "整点秒杀"),
                link("/promo/slow.html", "限时特惠专场"),
                link("/promo/old-event.html", "往期活动"),
                link("/item/99999.html", "已下架商品"),
                link("/cart/", "购物车"),
            ]
        )
        main = f"""<section class="categories"><h2>全部分类</h2><ul>{cats}</ul></section>
<section class="promos"><h2>活动专区</h2><p>{promos}</p></section>
<section class="recommend"><h2>猜你喜欢</h2><ul class="goods-list">{cards}</ul></section>
<section class="shops"><h2>品牌店铺</h2><ul>{shops}</ul></section>
<section class="search"><form action="/api/search"><input name="q" placeholder="搜索商品"></form></section>"""
        return Response.html(self.layout("首页", main))

    def listing(self, match: re.Match[str], query: Query) -> Response:
        category = match[1]
        ads = self._ads(category)
        if not ads:
            return self.not_found()
        page = query_int(query, "page")
        shown, last = pages(ads, page, LIST_SIZE)
        if not shown:
            return self.not_found()
        cards = "".join(
            self._card(ad, {"spm": f"a2u.list.{category}.{i}", "from": "list"}) for i, ad in enumerate(shown, 1)
        )
        name = self.catalog.category_names[category]
        pager = [f'<span class="current">第{page}页 / 共{last}页</span>']
        if page > 1:
            pager.insert(0, link(f"/list/{category}?page={page - 1}", "上一页", "prev"))
        if page < last:
            pager.append(link(f"/list/{category}?page={page + 1}", "下一页", "next"))
        main = f"""<h1 class="list-title">{h(name)}</h1>
<ul class="goods-list">{cards}</ul>
<div class="pager">{" ".join(pager)}</div>"""
        return Response.html(self.layout(f"{name} 第{page}页", main))

    def item(self, match: re.Match[str], query: Query) -> Response:
        ad = self.catalog.find("mall", f"/item/{match[1]}.html")
        if ad is None:
            return self.not_found()
        html = self.layout(ad.title, self._detail(ad), crumbs=self._crumbs(ad))
        if ad.number == BROKEN_HTML_ITEM:
            html = _break_html(html)
        return Response.html(html)

    def _crumbs(self, ad: Ad) -> str:
        name = self.catalog.category_names[ad.category]
        return (
            f'<div class="crumbs">{link("/", "首页")} &gt; '
            f'<a class="cat" href="/list/{ad.category}">{h(name)}</a> &gt; <span>{h(ad.product)}</span></div>'
        )

    def _detail(self, ad: Ad) -> str:
        prices = _split_price(ad.prices[0], "price-now")
        if len(ad.prices) > 1:
            prices += f' <del class="price-orig" data-price="{ad.prices[1]:.2f}">¥{ad.prices[1]:.2f}</del>'
        desc = paragraphs(ad.paragraphs)
        if ad.number == MALL_XSS_ITEM:
            desc += f"\n{XSS_PAYLOAD}"  # stored as the seller typed it
        related = [a for a in self._ads() if a.extra["shop_id"] == ad.extra["shop_id"] and a is not ad][:4]
        rec = "".join(self._card(a, {"spm": f"a2u.detail.rec.{a.number}"}) for a in related)
        return f"""<div class="item-main">
{self.gallery(ad)}
<div class="info">
<h1 class="item-title">{h(ad.title)}</h1>
<div class="price-box">{prices}</div>
<div class="shop-info">店铺：<a class="shop-name" href="/shop/{ad.extra["shop_id"]}.html">{h(ad.seller)}</a></div>
<div class="actions"><a class="buy" href="/cart/add?item={ad.number}">加入购物车</a>
<a class="fav" href="/cart/fav?item={ad.number}">加入收藏夹</a></div>
</div>
</div>
<div class="detail"><h2>商品详情</h2>
<div class="desc">
{desc}
</div></div>
<div class="related"><h2>同店推荐</h2><ul class="goods-list">{rec}</ul></div>"""

    def shop(self, match: re.Match[str], query: Query) -> Response:
        """A shop page in GBK, its charset declared only in a meta http-equiv tag."""
        shop_id = int(match[1])
        if shop_id not in self.catalog.mall_shops:
            return self.not_found()
        name, _ = self.catalog.mall_shops[shop_id]
        ads = [ad for ad in self._ads() if ad.extra["shop_id"] == str(shop_id)]
        rows = "".join(
            f'<li><a href="{ad.path}">{h(ad.title)}</a> <span class="price">￥{ad.prices[0]:.2f}</span></li>'
            for ad in ads
        )
        banner = self.catalog.mall_shop_banners.get(shop_id, "")
        banner_html = f'<div class="shop-banner">{h(banner)}</div>' if banner else ""
        main = f'<h1 class="shop-title">{h(name)}</h1>{banner_html}<ul class="shop-goods">{rows}</ul>'
        html = self.layout(name, main, charset="gbk")
        # The wrong-charset trap: the header claims UTF-8, the body is GBK.
        header = "text/html; charset=utf-8" if shop_id == WRONG_CHARSET_SHOP else "text/html"
        return Response.encoded(html, "gbk", header)

    def search(self, match: re.Match[str], query: Query) -> Response:
        q = query.get("q", [""])[0].strip()
        page = query_int(query, "page")
        hits = [ad for ad in self._ads() if q in ad.title or q in ad.seller]
        shown, last = pages(hits, page, SEARCH_SIZE)
        base = self.base_url.rstrip("/")
        items = [{"id": ad.number, "title": ad.title, "url": f"{base}{ad.path}", "price": ad.prices[0]} for ad in shown]
        nxt = f"{base}/api/search?{urlencode({'q': q, 'page': page + 1})}" if page < last else None
        return Response.json(
            {"code": 0, "data": {"query": q, "page": page, "total": len(hits), "items": items, "next": nxt}}
        )


def _split_price(value: float, cls: str) -> str:
    """A price the way many shops render it: symbol, integer and decimals in separate tags."""
    whole, cents = f"{value:.2f}".split(".")
    return (
        f'<span class="{cls}" data-price="{value:.2f}"><span class="yen">¥</span>'
        f'<span class="int">{whole}</span><span class="dec">.{cents}</span></span>'
    )


def _break_html(html: str) -> str:
    """Damage a page the way careless templates do: unclosed tags, stray closers, no end tags."""
    html = html.replace("</p>", "").replace("</li>", "").replace("</div></div>", "</div>", 1)
    html = html.replace('<div class="detail">', '<div class="detail"><table><tr><td>规格参数<td>见下文</span></font>')
    return html.replace("</body>\n</html>\n", "")

"""益民大药房网上药店: an online pharmacy selling OTC drugs and personal medical devices."""

from __future__ import annotations

import re
from typing import ClassVar

from sandbox.catalog import Ad
from sandbox.sites.base import Handler, Query, Response, Site, h, link, money, pages, paragraphs

PAGE_SIZE = 8


class PharmacySite(Site):
    key = "pharmacy"
    robots = "User-agent: *\nDisallow: /admin/\nDisallow: /cart/\nDisallow: /user/\n"
    nav: ClassVar[tuple[tuple[str, str], ...]] = (
        ("/c/drug/1.html", "非处方药"),
        ("/c/medical_device/1.html", "家用器械"),
    )

    def routes(self) -> list[tuple[str, Handler]]:
        return [
            (r"/", self.home),
            (r"/c/([a-z_]+)/(\d+)\.html", self.category),
            (r"/goods/(\d+)\.html", self.goods),
        ]

    def _ads(self, slug: str) -> list[Ad]:
        return [ad for ad in self.catalog.for_site(self.key) if ad.category == slug]

    def home(self, match: re.Match[str], query: Query) -> Response:
        cats = " ".join(link(href, text) for href, text in self.nav)
        promos = f"{link('/promo/flash-sale.html', '会员日秒杀')} {link('/user/orders', '我的订单')}"
        main = f"""<section><h2>药品分类</h2><p>{cats}</p></section>
<section><h2>药师推荐</h2><p>{promos}</p></section>
<p class="notice">处方药须凭处方在药师指导下购买。</p>"""
        return Response.html(self.layout("首页", main))

    def category(self, match: re.Match[str], query: Query) -> Response:
        slug, page = match[1], int(match[2])
        shown, last = pages(self._ads(slug), max(page, 1), PAGE_SIZE)
        if not shown or page < 1:
            return self.not_found()
        rows = "".join(
            f'<tr><td>{link(ad.path, ad.title)}</td><td class="goods-price">{money(ad.prices[0], "￥")}</td></tr>'
            for ad in shown
        )
        pager = link(f"/c/{slug}/{page + 1}.html", "下一页", "next") if page < last else ""
        title = dict(self.nav)[f"/c/{slug}/1.html"]
        main = f'<h1>{h(title)}</h1><table class="goods">{rows}</table><div class="pager">{pager}</div>'
        return Response.html(self.layout(title, main))

    def goods(self, match: re.Match[str], query: Query) -> Response:
        ad = self.catalog.find(self.key, f"/goods/{match[1]}.html")
        if ad is None:
            return self.not_found()
        market = (
            f'<span class="market-label">市场价：</span><span class="market-price">{money(ad.prices[1], "￥")}</span>'
            if len(ad.prices) > 1
            else ""
        )
        main = f"""<div class="goods-detail">
{self.gallery(ad)}
<h1 class="goods-name">{h(ad.title)}</h1>
<p class="price-row">会员价：<span class="goods-price">{money(ad.prices[0], "￥")}</span> {market}</p>
<p class="seller">售卖药店：<a href="/about.html" class="seller-name">{h(ad.seller)}</a></p>
<div class="goods-desc">
{paragraphs(ad.paragraphs)}
</div>
<p>{link(f"/cart/add/{ad.number}", "加入需求清单")}</p>
</div>"""
        title = dict(self.nav)[f"/c/{ad.category}/1.html"]
        crumbs = f'<div class="crumbs">{link("/", "首页")} › {link(f"/c/{ad.category}/1.html", title)}</div>'
        return Response.html(self.layout(ad.title, main, crumbs=crumbs))

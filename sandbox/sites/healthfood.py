"""颐康健康商城: a single-seller health-food shop (保健食品 and ordinary foods)."""

from __future__ import annotations

import re
from typing import ClassVar

from sandbox.catalog import Ad
from sandbox.sites.base import Handler, Query, Response, Site, h, link, money, pages, paragraphs, query_int

PAGE_SIZE = 10


class HealthfoodSite(Site):
    key = "healthfood"
    robots = "User-agent: *\nDisallow: /admin/\nDisallow: /cart/\n"
    nav: ClassVar[tuple[tuple[str, str], ...]] = (
        ("/category/health_food", "保健食品"),
        ("/category/food", "营养食品"),
    )

    def routes(self) -> list[tuple[str, Handler]]:
        return [
            (r"/", self.home),
            (r"/category/([a-z_]+)", self.category),
            (r"/product/(\d+)\.html", self.product),
            (r"/p/(\d+)", lambda m, q: Response.redirect(f"/product/{m[1]}.html", 301)),
        ]

    def _ads(self, slug: str) -> list[Ad]:
        return [ad for ad in self.catalog.for_site(self.key) if ad.category == slug]

    def home(self, match: re.Match[str], query: Query) -> Response:
        hot = self.catalog.for_site(self.key)[::6]
        rows = "".join(f"<li>{link(f'/p/{ad.number}', ad.title)}</li>" for ad in hot)
        main = f"""<section class="hot"><h2>热门推荐</h2><ul>{rows}</ul></section>
<p>{link("/category/health_food", "全部保健食品")} {link("/category/food", "全部营养食品")}
{link("/product/3999.html", "会员专享（已下线）")} {link("/cart/", "购物车")}</p>"""
        return Response.html(self.layout("首页", main))

    def category(self, match: re.Match[str], query: Query) -> Response:
        ads = self._ads(match[1])
        page = query_int(query, "page")
        shown, last = pages(ads, page, PAGE_SIZE)
        if not shown:
            return self.not_found()
        rows = "".join(
            f'<div class="product-card">{link(ad.path, ad.title, "name")} '
            f'<em class="price">{money(ad.prices[0])}</em></div>'
            for ad in shown
        )
        pager = link(f"/category/{match[1]}?page={page + 1}", "下一页", "next") if page < last else ""
        title = dict(self.nav)[f"/category/{match[1]}"]
        return Response.html(self.layout(title, f'<h1>{h(title)}</h1>{rows}<div class="pager">{pager}</div>'))

    def product(self, match: re.Match[str], query: Query) -> Response:
        ad = self.catalog.find(self.key, f"/product/{match[1]}.html")
        if ad is None:
            return self.not_found()
        slug = ad.category
        market = f' <s class="market-price">{money(ad.prices[1])}</s>' if len(ad.prices) > 1 else ""
        crumbs = (
            f'<div class="breadcrumb">{link("/", "首页")} / '
            f"{link(f'/category/{slug}', dict(self.nav)[f'/category/{slug}'])} / <span>{h(ad.product)}</span></div>"
        )
        main = f"""<div class="product">
{self.gallery(ad)}
<h1 class="product-name">{h(ad.title)}</h1>
<div class="price-line">售价：<em class="price">{money(ad.prices[0])}</em>{market}</div>
<div class="store">销售方：<span class="store-name">{h(ad.seller)}</span></div>
<div class="intro">
{paragraphs(ad.paragraphs)}
</div>
<p>{link(f"/cart/add?pid={ad.number}", "立即购买")}</p>
</div>"""
        return Response.html(self.layout(ad.title, main, crumbs=crumbs))

"""金石收藏网: commemorative coins, stamps and art sold as collectibles "with a future"."""

from __future__ import annotations

import re
from typing import ClassVar

from sandbox.sites.base import Handler, Query, Response, Site, h, link, money, pages, paragraphs, query_int

PAGE_SIZE = 12


class CollectSite(Site):
    key = "collect"
    nav: ClassVar[tuple[tuple[str, str], ...]] = (("/lots", "全部藏品"), ("/calendar/2026-11", "拍卖日历"))

    def routes(self) -> list[tuple[str, Handler]]:
        return [(r"/", self.home), (r"/lots", self.lots), (r"/lot/(\d+)\.html", self.lot)]

    def home(self, match: re.Match[str], query: Query) -> Response:
        rows = "".join(
            f"<li>{link(ad.path + '?from=home', ad.title)}</li>" for ad in self.catalog.for_site(self.key)[:6]
        )
        main = f"<section><h2>新品上架</h2><ul>{rows}</ul><p>{link('/lots', '查看全部藏品')}</p></section>"
        return Response.html(self.layout("首页", main))

    def lots(self, match: re.Match[str], query: Query) -> Response:
        page = query_int(query, "page")
        shown, last = pages(self.catalog.for_site(self.key), page, PAGE_SIZE)
        if not shown:
            return self.not_found()
        rows = "".join(
            f'<div class="lot-card">{link(ad.path, ad.title)} <b>{money(ad.prices[0], thousands=True)}</b></div>'
            for ad in shown
        )
        pager = link(f"/lots?page={page + 1}", "下一页", "next") if page < last else ""
        return Response.html(self.layout("全部藏品", f'<h1>全部藏品</h1>{rows}<div class="pager">{pager}</div>'))

    def lot(self, match: re.Match[str], query: Query) -> Response:
        ad = self.catalog.find(self.key, f"/lot/{match[1]}.html")
        if ad is None:
            return self.not_found()
        ref = (
            f' 参考价：<span class="ref-price">{money(ad.prices[1], thousands=True)}</span>'
            if len(ad.prices) > 1
            else ""
        )
        main = f"""<div class="lot-detail">
{self.gallery(ad)}
<h1 class="lot-title">{h(ad.title)}</h1>
<p class="lot-prices">成交价：<b class="lot-price">{money(ad.prices[0], thousands=True)}</b>{ref}</p>
<div class="dealer">经销商：<span class="dealer-name">{h(ad.seller)}</span></div>
<div class="lot-desc">
{paragraphs(ad.paragraphs)}
</div>
</div>"""
        return Response.html(self.layout(ad.title, main))

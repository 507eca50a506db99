"""闪购特卖 (sandbox): a shop whose prices move with the calendar, as a real shop's do around 双十一.

Every listing's price on a given day comes from its ``Listing`` plan and the
sandbox clock (``SandboxWeb(clock=…)``, default today).  During the 双十一 sale
(11-01 to 11-11) listings show a reference (划线) price beside the sale price.
Three listings play a price trick; three discount honestly.  ``PRICE_TRICKS``
and ``HONEST_DISCOUNTS`` are the ground truth; the copy itself is lawful.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import ClassVar

from sandbox.sites.base import Handler, OwnShop, Query, Response, h, link, money, paragraphs

SALE_START = (11, 1)
SALE_END = (11, 11)
SELLER = "闪购特卖自营店"
SITE_NAME = "闪购特卖"
SLOGAN = "每日特价，价格随行就市"


@dataclass(frozen=True)
class Listing:
    """One listing's price plan over the year.

    ``raised``: 先涨后降 — the price goes up ``raise_days`` before the sale and
    the sale "discounts" from there.  ``old_price``: the price before a rise on
    ``rose_on`` (month, day), long before the sale — an honest increase.
    ``reference``: the 划线价 shown during the sale (defaults to the price before it).
    """

    number: int
    title: str
    category: str
    copy: tuple[str, ...]
    normal: float
    sale: float
    claim: str = ""
    reference: float | None = None
    raised: float | None = None
    raise_days: int = 12
    old_price: float | None = None
    rose_on: tuple[int, int] = (9, 1)

    @property
    def path(self) -> str:
        return f"/deal/{self.number}.html"

    def in_sale(self, day: date) -> bool:
        return date(day.year, *SALE_START) <= day <= date(day.year, *SALE_END)

    def list_price(self, day: date) -> float:
        """The everyday price on ``day`` (outside the sale)."""
        if self.old_price is not None and day < date(day.year, *self.rose_on):
            return self.old_price
        raise_start = date(day.year, *SALE_START) - timedelta(days=self.raise_days)
        if self.raised is not None and raise_start <= day <= date(day.year, *SALE_END):
            return self.raised
        return self.normal

    def prices(self, day: date) -> tuple[float, ...]:
        """What the page shows on ``day``: the current price first, then the 划线价 during the sale."""
        if not self.in_sale(day):
            return (self.list_price(day),)
        return (self.sale, self.reference or self.list_price(day))

    def paragraphs(self, day: date) -> tuple[str, ...]:
        return ((self.claim,) if self.claim and self.in_sale(day) else ()) + self.copy


LISTINGS: tuple[Listing, ...] = (
    Listing(
        7001,
        "云朵记忆棉护颈枕 标准款",
        "general",
        ("慢回弹记忆棉，贴合颈部曲线。", "可拆洗外套，支持七天无理由退货。"),
        normal=299.0,
        sale=239.0,
        claim="双十一活动价8折",
    ),
    Listing(
        7002,
        "冷萃挂耳咖啡 10袋装",
        "food",
        ("中度烘焙，每袋10克。", "配料：咖啡豆。保质期12个月。"),
        normal=129.0,
        sale=99.0,
        claim="店铺活动全场低至5折，本品以页面价格为准",
    ),
    Listing(
        7003,
        "轻薄羽绒服 男女同款",
        "general",
        ("90%白鸭绒，充绒量约120克。", "面料防泼水，可收纳进随附口袋。"),
        normal=199.0,
        sale=219.0,
        raised=259.0,
        claim="双十一限时直降40元",
    ),
    Listing(
        7004,
        "不锈钢保温杯 500毫升",
        "general",
        ("316不锈钢内胆，保温约12小时。", "杯盖可拆洗。"),
        normal=89.0,
        sale=79.0,
        reference=159.0,
        claim="双十一特惠价",
    ),
    Listing(
        7005,
        "氨基酸洁面乳 120克",
        "cosmetics",
        ("氨基酸表活，泡沫细腻。", "适合日常清洁使用。"),
        normal=399.0,
        sale=299.0,
        claim="双十一限时5折",
    ),
    Listing(
        7006,
        "纯棉四件套 1.8米床",
        "general",
        ("100%新疆棉，60支贡缎。", "9月1日起因棉价上涨调整日常售价。"),
        normal=69.0,
        sale=59.0,
        old_price=59.0,
        claim="双十一直降10元",
    ),
)

#: Ground truth: the trick each listing plays during the sale (rule id of the finding expected).
PRICE_TRICKS: dict[str, str] = {
    "/deal/7003.html": "price-raise-then-discount",
    "/deal/7004.html": "price-reference-above-7day-low",
    "/deal/7005.html": "price-discount-mismatch",
}
#: Ground truth: listings whose sale discount is honest and must not be flagged.
HONEST_DISCOUNTS: tuple[str, ...] = ("/deal/7001.html", "/deal/7002.html", "/deal/7006.html")


class FlashsaleSite(OwnShop):
    key = "flashsale"
    own_name, own_slogan = SITE_NAME, SLOGAN
    nav: ClassVar[tuple[tuple[str, str], ...]] = (("/", "今日特卖"), ("/calendar/2026-11", "活动日历"))

    def routes(self) -> list[tuple[str, Handler]]:
        return [(r"/", self.home), (r"/deal/(\d+)\.html", self.deal)]

    def find(self, number: int) -> Listing | None:
        return next((item for item in LISTINGS if item.number == number), None)

    def home(self, match: re.Match[str], query: Query) -> Response:
        today = self.clock()
        rows = "".join(
            f'<li class="deal-card">{link(item.path, item.title)} <b>{money(item.prices(today)[0])}</b></li>'
            for item in LISTINGS
        )
        main = f'<section><h1>今日特卖 {today:%Y-%m-%d}</h1><ul class="deals">{rows}</ul></section>'
        return Response.html(self.layout("今日特卖", main))

    def deal(self, match: re.Match[str], query: Query) -> Response:
        item = self.find(int(match[1]))
        if item is None:
            return self.not_found()
        today = self.clock()
        prices = item.prices(today)
        was = f' <del class="was-price">{money(prices[1])}</del>' if len(prices) > 1 else ""
        main = f"""<div class="deal-detail">
<h1 class="deal-title">{h(item.title)}</h1>
<p class="price-box">到手价 <span class="now-price">{money(prices[0])}</span>{was}</p>
<div class="shop">店铺：<span class="shop-name">{h(SELLER)}</span></div>
<div class="deal-desc">
{paragraphs(item.paragraphs(today))}
</div>
</div>"""
        return Response.html(self.layout(item.title, main))

"""集市优选 (sandbox): a marketplace whose listings and shops carry the special action's other targets.

Listings planted with counterfeit wording, format clauses, refused returns, 好评返现,
bought review bursts, copied reviews, a famous brand at a fraction of its price and
老字号/地理标志 names used by unauthorised sellers stand beside lawful near-misses
(高仿真 plants, a 1:1 scale model, a brand's own 复刻 reissue, made-to-order goods
that may refuse returns, honest reviews on a busy day, 好评率).  Shop pages show their
licence or a link to it, or nothing, and their own footer with or without an ICP
number.  ``MARKET_FINDINGS`` is the ground truth: path → the rule ids expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import ClassVar

from sandbox.sites.base import Handler, OwnShop, Query, Response, h, link, money, paragraphs

SITE_NAME = "集市优选"
COUNTS_FROM = date(2026, 10, 1)
SLOGAN = "好店好物，一站淘齐"


@dataclass(frozen=True)
class Shop:
    number: int
    name: str
    operator: str  # the 经营者 the shop page names
    licence: str  # "text": the licence shown; "link": a link to it; "none"
    licence_name: str = ""  # the company name on the licence (default: the operator)
    icp: str = ""  # the shop's own footer's ICP number; "" = none

    @property
    def path(self) -> str:
        return f"/store/{self.number}.html"


@dataclass(frozen=True)
class Listing:
    number: int
    title: str
    shop: int
    price: float
    copy: tuple[str, ...]
    reviews: str = "honest"  # "honest", "busy" (many, mixed, one day), "burst", "copied", "none"
    sales_per_day: int = 20  # sales shown grow so by the sandbox clock …
    review_ratio: float = 0.1  # … and the review count by this share of them

    @property
    def path(self) -> str:
        return f"/goods/{self.number}.html"

    def counts(self, day: date) -> tuple[int, int]:
        """(sales, reviews) the page shows on ``day``: both grow from 2026-10-01."""
        sold = self.sales_per_day * max(0, (day - COUNTS_FROM).days)
        return 300 + sold, 15 + int(sold * self.review_ratio)


SHOPS: tuple[Shop, ...] = (
    Shop(1, "优跑运动专营店", "上海优跑体育用品有限公司", "text", icp="沪ICP备2024031234号-1"),
    Shop(2, "潮鞋汇", "杭州潮汇商贸有限公司", "link", icp="浙ICP备2023056789号"),
    Shop(3, "好物低价小铺", "义乌市小李日用品商行", "none"),
    Shop(
        4, "居家百货店", "宁波甬家贸易有限公司", "text", licence_name="宁波顺达电子有限公司", icp="浙ICP备2022011223号"
    ),
    Shop(5, "同仁堂官方旗舰店", "北京同仁堂健康药业股份有限公司", "text", icp="京ICP备2021000111号"),
    Shop(6, "杭州西湖龙井茶农合作社", "杭州西湖龙井茶农合作社", "text", icp="浙ICP备2020012345号"),
    Shop(7, "老街茶铺", "金华市老街茶叶店", "link"),
)

LISTINGS: tuple[Listing, ...] = (
    Listing(
        8001,
        "耐克 Air Zoom 飞马 跑步鞋 男款",
        1,
        699.0,
        ("网面鞋面，缓震中底。", "支持七天无理由退货。"),
        sales_per_day=2000,
        review_ratio=0.05,
    ),
    Listing(
        8002,
        "耐克 Air Force 1 板鞋 白色",
        1,
        759.0,
        ("耐克官方复刻1982年经典配色。", "皮革鞋面，支持七天无理由退货。"),
        reviews="busy",
    ),
    Listing(8003, "耐克 Dunk 低帮 休闲鞋", 2, 729.0, ("翻毛皮拼接，橡胶外底。", "正品保障，支持七天无理由退货。")),
    Listing(8004, "耐克 Air Max 气垫跑鞋 工厂直发", 3, 129.0, ("工厂直发，款式齐全。", "下单48小时内发货。")),
    Listing(8005, "耐克 Pegasus 40 跑步鞋 女款", 2, 689.0, ("轻量网面，回弹中底。", "支持七天无理由退货。")),
    Listing(
        8006, "高仿LV老花手提包 原单品质", 3, 380.0, ("专柜同款五金，皮质细腻。", "拍下备注颜色。"), reviews="none"
    ),
    Listing(8007, "1:1复刻劳力士 水鬼 机械表", 3, 980.0, ("对版细节，刻字清晰。", "全国包邮。"), reviews="none"),
    Listing(8008, "高仿真绿植盆栽 客厅装饰", 4, 59.0, ("仿真叶片，免浇水。", "支持七天无理由退货。")),
    Listing(8009, "1:1比例高铁模型 合金收藏版", 4, 268.0, ("1:1比例还原车头细节，合金材质。", "附展示底座。")),
    Listing(
        8010, "羊毛混纺开衫 秋冬款", 4, 239.0, ("羊毛混纺，不起球。", "本店商品不支持七天无理由退货，请谨慎下单。")
    ),
    Listing(8011, "定制刻字保温杯 500毫升", 4, 89.0, ("杯身可刻姓名与祝福语。", "定制商品，不支持七天无理由退货。")),
    Listing(8012, "碎花连衣裙 夏季新款", 2, 169.0, ("棉麻面料，透气。", "满200减30，本活动最终解释权归本店所有。")),
    Listing(8013, "LED护眼台灯 三档调光", 3, 79.0, ("三档色温，无频闪。", "一经售出，概不退换。")),
    Listing(8014, "纯棉白衬衫 商务款", 1, 199.0, ("精梳棉，免烫。", "支持七天无理由退货，赠运费险。")),
    Listing(
        8015,
        "蓝牙耳机 降噪入耳式",
        3,
        149.0,
        ("蓝牙5.3，续航30小时。", "五星好评晒图返现5元，联系客服领取。"),
        reviews="copied",
    ),
    Listing(
        8016, "快充数据线 1米 两条装", 3, 19.9, ("支持快充，编织线身。", "好评率99%，下单送手机支架。"), reviews="burst"
    ),
    Listing(8017, "不锈钢保温杯 316内胆", 2, 99.0, ("保温约12小时。", "杯盖可拆洗。"), reviews="copied"),
    Listing(8018, "同仁堂 阿胶糕 500克", 3, 88.0, ("即食，独立小包装。", "配料：阿胶、黑芝麻、核桃仁、冰糖。")),
    Listing(8019, "同仁堂 阿胶糕 500克 礼盒装", 5, 198.0, ("即食，独立小包装。", "配料：阿胶、黑芝麻、核桃仁、冰糖。")),
    Listing(8020, "西湖龙井 2026年明前茶 250克", 7, 299.0, ("扁平挺直，嫩绿光润。", "罐装，避光保存。")),
    Listing(8021, "西湖龙井 2026年明前茶 250克 礼盒", 6, 598.0, ("扁平挺直，嫩绿光润。", "产地证明可查。")),
    Listing(
        8022,
        "网红随行杯 450毫升",
        2,
        49.0,
        ("双层隔热，轻便易携。", "多色可选。"),
        sales_per_day=3000,
        review_ratio=0.0,
    ),
)

#: Ground truth: the finding rule ids each page must show (every other page of the sandbox: none).
MARKET_FINDINGS: dict[str, frozenset[str]] = {
    path: frozenset(ids)
    for path, ids in {
        "/goods/8004.html": ["market-brand-price-anomaly"],
        "/goods/8006.html": ["market-counterfeit-wording"],
        "/goods/8007.html": ["market-counterfeit-wording"],
        "/goods/8010.html": ["market-return-refusal"],
        "/goods/8012.html": ["market-format-clause"],
        "/goods/8013.html": ["market-format-clause"],
        "/goods/8015.html": ["market-review-cashback", "market-review-duplicate"],
        "/goods/8016.html": ["market-review-burst"],
        "/goods/8017.html": ["market-review-duplicate"],
        "/goods/8018.html": ["market-heritage-unauthorised"],
        "/goods/8020.html": ["market-heritage-unauthorised"],
        "/store/3.html": ["market-licence-missing", "market-icp-missing"],
        "/store/4.html": ["market-licence-name-mismatch"],
        "/store/7.html": ["market-icp-missing"],
    }.items()
}
#: Every finding kind one crawl can show, for the demo's per-kind scores.
FINDING_KINDS: tuple[str, ...] = tuple(sorted({kind for ids in MARKET_FINDINGS.values() for kind in ids}))
#: Ground truth across crawls on different sandbox dates: sales that grow by thousands a day, reviews that do not.
#: 8001 sells almost as fast, with reviews growing in step: a lawful near-miss.
SALES_WITHOUT_REVIEWS: dict[str, str] = {"/goods/8022.html": "market-sales-without-reviews"}

_START = datetime(2026, 10, 1, 9, 0)
_HONEST = (
    (5, "鞋子很合脚，做工不错，物流两天就到了。"),
    (4, "颜色比图片略深，整体满意。"),
    (5, "第二次回购了，尺码标准。"),
    (3, "包装有点压扁，东西没问题。"),
    (5, "客服回复及时，推荐。"),
    (4, "性价比可以，就是发货慢了一天。"),
    (2, "用了一周有点开胶，已联系售后。"),
    (5, "老公很喜欢，穿着舒服。"),
)
_BUSY = (
    "双十一抢到的，比平时便宜不少。",
    "鞋底有点硬，穿几天应该会好。",
    "白色很百搭，上脚好看。",
    "尺码偏大半码，建议买小一号。",
    "快递凌晨就送到了，点赞。",
    "鞋盒有点旧，鞋子本身没问题。",
    "给儿子买的，他说很舒服。",
    "和专卖店对比过，细节一致。",
    "活动价入手，挺值的。",
    "鞋带有点短，其他满意。",
    "第三双了，一直穿这个款。",
    "做工一般，对得起价格。",
)
_COPIED = (
    "宝贝收到了，质量非常好，做工精细，物流也很快，五星好评推荐购买！",
    "宝贝收到了，质量非常好，做工很精细，物流也很快，五星好评推荐购买！",
    "宝贝收到了质量非常好，做工精细，物流也超快，五星好评推荐购买！",
    "宝贝收到了，质量非常好，做工精细，物流也很快，五星好评值得购买！",
)


def reviews_of(listing: Listing) -> list[tuple[datetime, int, str]]:
    """The reviews a listing shows, oldest first: (time, stars, words); the same on every call."""
    honest = [(_START + timedelta(days=3 * i, hours=i), stars, text) for i, (stars, text) in enumerate(_HONEST)]
    if listing.reviews == "none":
        return []
    if listing.reviews == "busy":  # 双十一: a dozen honest reviews in one day, mixed ratings
        day = datetime(2026, 11, 12, 8, 0)
        busy = [(day + timedelta(minutes=50 * i), (5, 4, 5, 3, 5, 4)[i % 6], text) for i, text in enumerate(_BUSY)]
        return honest + busy
    if listing.reviews == "burst":  # twelve five-star reviews within three hours, then quiet
        day = datetime(2026, 10, 20, 1, 10)
        words = (
            "好用",
            "不错，充电快",
            "很好",
            "质量好",
            "五星",
            "满意",
            "推荐",
            "好评",
            "可以",
            "值得",
            "很棒",
            "挺好",
        )
        return honest[:3] + [(day + timedelta(minutes=15 * i), 5, words[i]) for i in range(12)]
    if listing.reviews == "copied":
        return honest[:4] + [(_START + timedelta(days=20 + 2 * i), 5, text) for i, text in enumerate(_COPIED)]
    return honest


class MarketSite(OwnShop):
    key = "market"
    own_name, own_slogan = SITE_NAME, SLOGAN
    nav: ClassVar[tuple[tuple[str, str], ...]] = (("/", "首页"), ("/shops.html", "店铺街"))

    def routes(self) -> list[tuple[str, Handler]]:
        return [(r"/", self.home), (r"/shops\.html", self.shops), (r"/goods/(\d+)\.html", self.goods),
                (r"/store/(\d+)\.html", self.shop), (r"/store/(\d+)/licence\.html", self.licence)]  # fmt: skip

    def home(self, match: re.Match[str], query: Query) -> Response:
        rows = "".join(f'<li class="goods-card">{link(g.path, g.title)} <b>{money(g.price)}</b></li>' for g in LISTINGS)
        return Response.html(self.layout("首页", f'<section><h1>今日好物</h1><ul class="goods">{rows}</ul></section>'))

    def shops(self, match: re.Match[str], query: Query) -> Response:
        rows = "".join(f"<li>{link(s.path, s.name)}</li>" for s in SHOPS)
        return Response.html(self.layout("店铺街", f'<section><h1>店铺街</h1><ul class="shops">{rows}</ul></section>'))

    def goods(self, match: re.Match[str], query: Query) -> Response:
        item = next((g for g in LISTINGS if g.number == int(match[1])), None)
        if item is None:
            return self.not_found()
        shop = SHOPS[item.shop - 1]
        sales, review_count = item.counts(self.clock())
        reviews = "".join(
            f'<li class="review"><span class="time">{at:%Y-%m-%d %H:%M}</span> '
            f'<span class="stars">{"★" * stars}{"☆" * (5 - stars)}</span> <span class="words">{h(words)}</span></li>'
            for at, stars, words in reviews_of(item)
        )
        main = f"""<div class="goods-detail">
<h1 class="goods-title">{h(item.title)}</h1>
<p class="price-box">价格 <span class="now-price">{money(item.price)}</span></p>
<p class="counts">已售 <span class="sales">{sales}</span> ·
累计评价 <span class="review-count">{review_count}</span></p>
<div class="shop">店铺：{link(shop.path, shop.name, "shop-name")}</div>
<div class="goods-desc">
{paragraphs(item.copy)}
</div>
<section class="reviews"><h2>商品评价</h2><ul>{reviews or '<li class="empty">暂无评价</li>'}</ul></section>
</div>"""
        return Response.html(self.layout(item.title, main))

    def _shop(self, number: str) -> Shop | None:
        return next((s for s in SHOPS if s.number == int(number)), None)

    def shop(self, match: re.Match[str], query: Query) -> Response:
        shop = self._shop(match[1])
        if shop is None:
            return self.not_found()
        licence = {
            "text": f'<div class="licence">营业执照信息 企业名称：{h(shop.licence_name or shop.operator)} '
            f"统一社会信用代码：91330100MA2{shop.number:05d}X 登记机关：市场监督管理局</div>",
            "link": f"<p>{link(f'/store/{shop.number}/licence.html', '营业执照信息', 'licence-link')}</p>",
            "none": "",
        }[shop.licence]
        goods = "".join(f"<li>{link(g.path, g.title)}</li>" for g in LISTINGS if g.shop == shop.number)
        icp = f" {h(shop.icp)}" if shop.icp else ""
        main = f"""<div class="shop-home">
<h1 class="shop-title">{h(shop.name)}</h1>
<p class="shop-intro">欢迎光临{h(shop.name)}，下单后48小时内发货。</p>
<p class="operator">经营者：<span class="operator-name">{h(shop.operator)}</span></p>
{licence}
<ul class="shop-goods">{goods}</ul>
<div class="shop-footer">© 2026 {h(shop.name)} 客服热线 400-820-{shop.number:04d}{icp}</div>
</div>"""
        return Response.html(self.layout(shop.name, main))

    def licence(self, match: re.Match[str], query: Query) -> Response:
        shop = self._shop(match[1])
        if shop is None or shop.licence != "link":
            return self.not_found()
        main = f'<div class="licence-page"><h1>营业执照信息</h1><p>企业名称：{h(shop.operator)}</p></div>'
        return Response.html(self.layout("营业执照信息", main))

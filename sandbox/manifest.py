"""Ground truth for the sandbox: every ad, where it lives, what it says and which articles it breaks.

Tests and the demo compare what AdWatch found against ``load_manifest()``.
``TRAPS`` lists, per site, the URL paths of the pitfalls a real web has.
Ordinary news articles are editorial content, not ads: they are listed in
``EDITORIAL`` so that a comparison can tell them from missed ads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from sandbox.catalog import MALL_XSS_ITEM, build_catalog
from sandbox.sites.flashsale import HONEST_DISCOUNTS, PRICE_TRICKS, SELLER
from sandbox.sites.flashsale import LISTINGS as FLASHSALE_LISTINGS
from sandbox.sites.jsmall import LAZY_ALT_ITEM, NEVER_LOADS_ITEM, NEVER_LOADS_SCRIPT
from sandbox.sites.mall import BROKEN_HTML_ITEM, GO_CHAIN_ITEM, OLD_URL_ITEM, WRONG_CHARSET_SHOP
from sandbox.sites.market import FINDING_KINDS, LISTINGS, MARKET_FINDINGS, SHOPS

ARTICLE_KEYS: tuple[str, ...] = (
    "广告法第九条",
    "广告法第十四条",
    "广告法第十六条",
    "广告法第十七条",
    "广告法第十八条",
    "广告法第二十五条",
    "广告法第二十八条",
    "食品安全法第七十三条",
)


@dataclass(frozen=True)
class GroundTruth:
    site: str
    ad_id: str
    path: str  # URL path of the ad's own page, e.g. "/item/1042.html"
    category: str
    title: str
    seller: str
    prices: tuple[float, ...]  # the current price first
    violations: tuple[str, ...]  # article keys; empty = compliant

    @property
    def compliant(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "compliant": self.compliant}


def load_manifest() -> list[GroundTruth]:
    """Every ad in the sandbox, in site order; deterministic, the same on every call."""
    return [
        GroundTruth(
            site=ad.site,
            ad_id=ad.ad_id,
            path=ad.path,
            category=ad.category,
            title=ad.title,
            seller=ad.seller,
            prices=ad.prices,
            violations=ad.violations,
        )
        for ad in build_catalog().ads
    ] + flashsale_truth() + market_truth()


def flashsale_truth(day: date | None = None) -> list[GroundTruth]:
    """The flashsale listings as the sandbox serves them on ``day`` (default today); their copy is lawful.

    Their price tricks are ground truth of another kind: ``PRICE_TRICKS`` (path → the rule id expected
    once the listing has been crawled before and during the 双十一 sale) and ``HONEST_DISCOUNTS``.
    """
    day = day or date.today()
    return [
        GroundTruth("flashsale", f"flashsale-{item.number}", item.path, item.category, item.title, SELLER,
                    item.prices(day), ())
        for item in FLASHSALE_LISTINGS
    ]  # fmt: skip


def market_truth() -> list[GroundTruth]:
    """The market's listings and shop pages: lawful as ads; what else they break is ``FINDINGS``."""
    shops = {shop.number: shop for shop in SHOPS}
    listings = [
        GroundTruth("market", f"market-{g.number}", g.path, "general", g.title, shops[g.shop].name, (g.price,), ())
        for g in LISTINGS
    ]
    pages = [GroundTruth("market", f"market-shop-{s.number}", s.path, "general", s.name, s.operator, (), ())
             for s in SHOPS]
    return listings + pages  # fmt: skip


#: Ground truth beyond ads: (site, path) → the finding rule ids (``market-…``) the page must show; every
#: other page of the sandbox must show none.  ``FINDING_KINDS`` lists the kinds scored.
FINDINGS: dict[tuple[str, str], frozenset[str]] = {("market", path): ids for path, ids in MARKET_FINDINGS.items()}


EDITORIAL: dict[str, list[str]] = {"news": [a.path for a in build_catalog().editorial]}

# Every site's footer links its back office (disallowed) and the endless calendar.
_COMMON = {"robots_disallowed": ["/admin/login"], "calendar": ["/calendar/2026-11"]}
TRAPS: dict[str, dict[str, list[str]]] = {
    "mall": {
        **_COMMON,
        "robots_disallowed": ["/admin/login", "/cart/", "/cart/add?item=1001", "/cart/fav?item=1001"],
        "server_error": ["/promo/flash-sale.html"],
        "slow": ["/promo/slow.html"],
        "redirects": [f"/old/item/{OLD_URL_ITEM}.html", f"/go/{GO_CHAIN_ITEM}"],
        "redirect_chain": [f"/go/{GO_CHAIN_ITEM}", f"/r/{GO_CHAIN_ITEM}", f"/item/{GO_CHAIN_ITEM}.html"],
        "not_found": ["/item/99999.html", "/promo/old-event.html"],
        "tracking_duplicates": [
            "/item/1001.html?utm_source=home&utm_medium=rec&utm_campaign=double11",
            "/item/1001.html?spm=a2u.list.food.1&from=list",
            "/item/1004.html?spm=a2u.detail.rec.1004",
        ],
        "gbk": ["/shop/11.html"],
        "wrong_charset": [f"/shop/{WRONG_CHARSET_SHOP}.html"],
        "broken_html": [f"/item/{BROKEN_HTML_ITEM}.html"],
        "xss": [f"/item/{MALL_XSS_ITEM}.html"],
        "json_api": ["/api/search?q=&page=1"],
    },
    "hospital": {
        **_COMMON,
        "robots_disallowed": ["/admin/login", "/member/booking"],
        "redirects": ["/zhuanjia/301"],
        "not_found": ["/dept/nosuch.html"],
    },
    "healthfood": {
        **_COMMON,
        "robots_disallowed": ["/admin/login", "/cart/"],
        "redirects": ["/p/3001"],
        "not_found": ["/product/3999.html"],
    },
    "pharmacy": {
        **_COMMON,
        "robots_disallowed": ["/admin/login", "/user/orders"],
        "server_error": ["/promo/flash-sale.html"],
        "not_found": ["/goods/4999.html"],
    },
    "collect": {
        **_COMMON,
        "tracking_duplicates": ["/lot/6001.html?from=home"],
        "not_found": ["/lot/6999.html"],
    },
    "news": {
        **_COMMON,
        "not_found": ["/article/9999.html"],
    },
    "flashsale": {
        **_COMMON,
        "robots_disallowed": ["/admin/login", "/cart/"],
        "not_found": ["/deal/7999.html"],
    },
    "market": {
        **_COMMON,
        "robots_disallowed": ["/admin/login", "/cart/"],
    },
    # Everything here needs JavaScript: plain HTTP sees empty shells.
    "jsmall": {
        **_COMMON,
        "robots_disallowed": ["/admin/login", "/cart/"],
        "not_found": ["/goods/5999.html"],
        "js_only": ["/", "/list", "/goods/5001.html"],
        "infinite_scroll": ["/list"],
        "xhr_claims": ["/api/goods/5001/detail.json"],
        "lazy_alt": [f"/goods/{LAZY_ALT_ITEM}.html"],
        "never_loads": [f"/goods/{NEVER_LOADS_ITEM}.html"],
        "never_completing_resource": [NEVER_LOADS_SCRIPT],
    },
}

__all__ = [
    "ARTICLE_KEYS", "EDITORIAL", "FINDINGS", "FINDING_KINDS", "HONEST_DISCOUNTS", "PRICE_TRICKS", "TRAPS",
    "GroundTruth", "load_manifest",
]  # fmt: skip

"""The sandbox's ads, composed deterministically from the copy fragments in ``sandbox/data``.

Each category file holds lawful base sentences, lawful look-alikes ("near
misses") and violating claim sentences, each labelled with the article(s) it
breaks.  An ad is a product or service plus a few of those fragments; its
label is the union of its fragments' labels, so the ground truth follows the
law fragment by fragment, never the generator's whim.

The generator uses one seeded ``random.Random`` per batch, so the catalog is
the same on every call and on every machine.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).resolve().parent / "data"
CATEGORIES: tuple[str, ...] = (
    "medical_service",
    "drug",
    "medical_device",
    "health_food",
    "food",
    "cosmetics",
    "investment",
    "general",
)
# Article key added to an advertorial that does not say it is an ad.
UNLABELLED_ADVERTORIAL = "广告法第十四条"


@dataclass(frozen=True)
class Fragment:
    """One sentence of copy; ``articles`` is empty for lawful sentences."""

    text: str
    articles: tuple[str, ...] = ()
    tag: str = ""
    alt: str = ""

    @classmethod
    def from_data(cls, data: str | Mapping[str, Any]) -> Fragment:
        if isinstance(data, str):
            return cls(text=data)
        return cls(
            text=data["text"],
            articles=tuple(data.get("articles", ())),
            tag=data.get("tag", ""),
            alt=data.get("alt", ""),
        )


@dataclass(frozen=True)
class Ad:
    """An ad as the sandbox serves it: everything a page needs, plus its label."""

    site: str
    ad_id: str
    path: str
    kind: str
    category: str
    title: str
    seller: str
    prices: tuple[float, ...]
    violations: tuple[str, ...]
    paragraphs: tuple[str, ...]
    image_alts: tuple[str, ...]
    product: str = ""
    labelled: bool = True
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def number(self) -> int:
        """The numeric id used in the ad's URL."""
        return int(self.ad_id.rsplit("-", 1)[1])


@dataclass(frozen=True)
class Article:
    """An ordinary news article: editorial content, not an ad."""

    path: str
    channel: str
    title: str
    source: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class Catalog:
    ads: tuple[Ad, ...]
    editorial: tuple[Article, ...]
    site_names: Mapping[str, str]
    site_slogans: Mapping[str, str]
    category_names: Mapping[str, str]
    mall_shops: Mapping[int, tuple[str, str]]  # shop id -> (name, category)
    mall_shop_banners: Mapping[int, str]
    news_channels: Mapping[str, str]
    _by_path: Mapping[tuple[str, str], Ad] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_path", {(ad.site, ad.path): ad for ad in self.ads})

    def for_site(self, site: str, kind: str | None = None) -> list[Ad]:
        return [ad for ad in self.ads if ad.site == site and (kind is None or ad.kind == kind)]

    def find(self, site: str, path: str) -> Ad | None:
        return self._by_path.get((site, path))


def _load(name: str) -> dict[str, Any]:
    return yaml.safe_load((DATA_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


class _Composer:
    """Composes ads of one category from its fragments with one seeded generator."""

    def __init__(self, category: str, seed: str, sites: Mapping[str, Any]) -> None:
        self.category = category
        self.data = _load(category)
        self.rng = random.Random(seed)
        self.sites = sites
        self._products = self._product_cycle()

    def _product_cycle(self) -> Iterator[dict[str, Any]]:
        products = list(self.data["products"])
        while True:
            self.rng.shuffle(products)
            yield from products

    def fragments(self, key: str, product: Mapping[str, Any] | None = None) -> list[Fragment]:
        own = product.get(key, []) if product else []
        return [Fragment.from_data(d) for d in [*own, *self.data.get(key, [])]]

    def price(self, low: float, high: float) -> float:
        whole = self.rng.randint(int(low), int(high))
        cents = self.rng.choice([0.0, 0.0, 0.9, 0.8, 0.5])
        return round(whole - 1 + cents, 2) if cents else float(whole)

    def numbers(self) -> dict[str, str]:
        """Registration and ad-approval numbers in the formats the law describes."""
        rng = self.rng
        # One hospital, one province; other advertisers are spread over several.
        prov = "浙" if self.category == "medical_service" else rng.choice(self.sites["provinces"])
        serial = f"{rng.randint(250101, 251231)}-{rng.randint(10, 99999):05d}"
        kinds = {
            "drug": ("药广审（文）第{s}号", "国药准字{kind}{n8}"),
            "medical_device": ("械广审（文）第{s}号", "{prov}械注准2023{n3}{n4}"),
            "health_food": ("食健广审（文）第{s}号", "国食健注G2021{n4}"),
            "medical_service": ("医广【2025】第{s}号", ""),
        }
        ad_fmt, reg_fmt = kinds.get(self.category, ("", ""))
        values = {
            "s": serial,
            "prov": prov,
            "kind": "",
            "n8": f"{rng.randint(10000000, 99999999)}",
            "n3": f"{rng.choice([207, 208, 209, 226, 227])}",
            "n4": f"{rng.randint(1000, 9999)}",
        }
        return {"ad_fmt": prov + ad_fmt if ad_fmt else "", "reg_fmt": reg_fmt, **values}

    def compose(
        self,
        violate: bool,
        *,
        seller: str = "",
        product: Mapping[str, Any] | None = None,
        extra_violations: list[Fragment] | None = None,
        base_key: str = "base",
        facts_key: str = "facts",
    ) -> dict[str, Any]:
        """One ad's copy: title parts, paragraphs, image alts, prices and label.

        A brand's own shop (``seller`` starts with the brand) sells only that brand.
        """
        rng = self.rng
        product = dict(product) if product is not None else next(self._products)
        brand = rng.choice(self.data["brands"])
        brand = next((b for b in self.data["brands"] if b and seller.startswith(b)), brand)
        spec = rng.choice(product.get("specs", [""]))
        numbers = self.numbers()
        ctx: dict[str, str] = {k: str(v) for k, v in product.items() if isinstance(v, str)}
        ctx |= {"brand": brand, "spec": spec, "seller": seller, "dept": product.get("dept", "")}
        ctx["company"] = self.company(brand)
        ctx["ad_approval"] = numbers["ad_fmt"].format(**numbers)
        numbers["kind"] = product.get("approval", "")
        ctx["reg_no"] = numbers["reg_fmt"].format(**numbers)

        claims: list[Fragment] = []
        if violate:
            pool = extra_violations if extra_violations is not None else self.fragments("violations", product)
            claims = rng.sample(pool, 2 if rng.random() < 0.3 and len(pool) > 1 else 1)
        facts = [f.text for f in self.fragments(facts_key, product)]
        base = [f.text for f in rng.sample(self.fragments(base_key), 3)]
        near = [f.text for f in rng.sample(self.fragments("near_miss"), rng.choice([0, 1, 1, 2]))]
        mandatory = [f.text for f in self.fragments("mandatory")]
        alts = [a.format(**ctx) for a in product.get("alts", self.data.get("alts", []))]

        body = [*base, *near]
        for claim in claims:
            if claim.alt and rng.random() < 0.3:
                alts.append(claim.alt)
            else:
                body.insert(rng.randint(0, len(body)), claim.text)
        paragraphs = [p.format(**ctx) for p in [*facts, *body, *mandatory]]

        prices: tuple[float, ...] = ()
        if product.get("price"):
            now = self.price(*product["price"])
            prices = (now, float(round(now * rng.uniform(1.2, 1.8)))) if rng.random() < 0.6 else (now,)
        tag = claims[0].tag if claims and claims[0].tag and rng.random() < 0.5 else ""
        return {
            "ctx": ctx,
            "product": product,
            "tag": tag,
            "paragraphs": tuple(paragraphs),
            "alts": tuple(alts),
            "prices": prices,
            "violations": _union(claims),
        }

    def company(self, brand: str) -> str:
        if self.category == "medical_service":
            return self.sites["sites"]["hospital"]["name"]
        province = self.sites["company_province"][sum(map(ord, brand)) % len(self.sites["company_province"])]
        return f"{province}{brand}{self.sites['company_suffix'][self.category]}"


def _union(fragments: list[Fragment]) -> tuple[str, ...]:
    keys: list[str] = []
    for fragment in fragments:
        keys.extend(k for k in fragment.articles if k not in keys)
    return tuple(keys)


def _violators(rng: random.Random, count: int, rate: float) -> set[int]:
    """Exactly ``round(count * rate)`` indexes out of ``count``, chosen by ``rng``."""
    return set(rng.sample(range(count), round(count * rate)))


def _product_title(parts: Mapping[str, Any]) -> str:
    ctx, product = parts["ctx"], parts["product"]
    words = [ctx["brand"], product["name"], ctx["spec"], product.get("keywords", "")]
    title = " ".join(w for w in words if w)
    return f"【{parts['tag']}】{title}" if parts["tag"] else title


def _ad(site: str, number: int, path: str, kind: str, category: str, title: str, seller: str,
        parts: Mapping[str, Any], **extra: Any) -> Ad:  # fmt: skip
    return Ad(
        site=site,
        ad_id=f"{site}-{number}",
        path=path,
        kind=kind,
        category=category,
        title=title,
        seller=seller,
        prices=parts["prices"],
        violations=parts["violations"],
        paragraphs=parts["paragraphs"],
        image_alts=parts["alts"],
        product=parts["product"].get("name", ""),
        labelled=extra.pop("labelled", True),
        extra={k: str(v) for k, v in extra.items()},
    )


# (category, count, violation rate) per site; products are listed in this order.
MALL_PLAN = (("food", 30, 0.45), ("cosmetics", 28, 0.45), ("general", 34, 0.35),
             ("health_food", 14, 0.5), ("medical_device", 14, 0.5))  # fmt: skip
HEALTHFOOD_PLAN = (("health_food", 30, 0.5), ("food", 14, 0.45))
PHARMACY_PLAN = (("drug", 30, 0.45), ("medical_device", 18, 0.45))


# Hostile seller input kept as data: this item's title carries a script payload.
MALL_XSS_ITEM = 1024
XSS_PAYLOAD = "<script>alert(1)</script>"


def _mall(sites: Mapping[str, Any]) -> list[Ad]:
    ads: list[Ad] = []
    number = 1001
    for category, count, rate in MALL_PLAN:
        composer = _Composer(category, f"mall:{category}", sites)
        shops = sites["mall_shops"][category]
        violators = _violators(composer.rng, count, rate)
        for i in range(count):
            shop_id = sorted(shops)[i % len(shops)]
            parts = composer.compose(i in violators, seller=shops[shop_id])
            title = _product_title(parts)
            if number == MALL_XSS_ITEM:
                title = f"{title}{XSS_PAYLOAD}"
            ads.append(_ad("mall", number, f"/item/{number}.html", "product", category, title,
                           shops[shop_id], parts, shop_id=shop_id))  # fmt: skip
            number += 1
    return ads


def _shop_site(site: str, plan: tuple[tuple[str, int, float], ...], first: int, path_fmt: str,
               sites: Mapping[str, Any]) -> list[Ad]:  # fmt: skip
    """A single-seller shop: every ad is a product page sold by the site itself."""
    seller = sites["sites"][site]["name"]
    ads: list[Ad] = []
    number = first
    for category, count, rate in plan:
        composer = _Composer(category, f"{site}:{category}", sites)
        violators = _violators(composer.rng, count, rate)
        for i in range(count):
            parts = composer.compose(i in violators, seller=seller)
            ads.append(_ad(site, number, path_fmt.format(number), "product", category,
                           _product_title(parts), seller, parts))  # fmt: skip
            number += 1
    return ads


def _collect(sites: Mapping[str, Any]) -> list[Ad]:
    composer = _Composer("investment", "collect:investment", sites)
    count = 36
    violators = _violators(composer.rng, count, 0.55)
    ads = []
    for i in range(count):
        number = 6001 + i
        parts = composer.compose(i in violators)
        dealer = composer.company(parts["ctx"]["brand"])
        ads.append(_ad("collect", number, f"/lot/{number}.html", "product", "investment",
                       _product_title(parts), dealer, parts))  # fmt: skip
    return ads


def _hospital(sites: Mapping[str, Any]) -> list[Ad]:
    composer = _Composer("medical_service", "hospital:medical_service", sites)
    data, rng = composer.data, composer.rng
    seller = sites["sites"]["hospital"]["name"]
    ads: list[Ad] = []
    projects = 20
    violators = _violators(rng, projects, 0.45)
    for i in range(projects):
        number = 201 + i
        parts = composer.compose(i in violators, seller=seller)
        title = f"{parts['product']['name']}（{parts['ctx']['spec']}）"
        title = f"【{parts['tag']}】{title}" if parts["tag"] else title
        ads.append(_ad("hospital", number, f"/project/{number}.html", "service", "medical_service", title,
                       seller, parts, dept=parts["product"]["dept"]))  # fmt: skip
    doctor_violations = [Fragment.from_data(d) for d in data["doctor_violations"]]
    violators = _violators(rng, len(data["doctors"]), 0.5)
    fees = {"主任医师": 50.0, "副主任医师": 30.0, "主治医师": 15.0}
    for i, doctor in enumerate(data["doctors"]):
        number = 301 + i
        product = {**doctor, "price": None}
        parts = composer.compose(i in violators, seller=seller, product=product,
                                 extra_violations=doctor_violations, base_key="doctor_base",
                                 facts_key="doctor_facts")  # fmt: skip
        parts = {**parts, "prices": (fees[doctor["title"]],)}
        title = f"{doctor['name']} {doctor['title']}（{doctor['dept']}）"
        ads.append(_ad("hospital", number, f"/doctor/{number}.html", "doctor", "medical_service", title,
                       seller, parts, dept=doctor["dept"]))  # fmt: skip
    for i, case in enumerate(data["cases"]):
        number = 401 + i
        story = [Fragment(text=s) for s in case["story"]]
        parts = composer.compose(False, seller=seller, product={"name": case["title"], "dept": case["dept"]})
        parts = {**parts, "paragraphs": (*(s.text for s in story), *parts["paragraphs"][-1:]),
                 "violations": tuple(case["articles"])}  # fmt: skip
        ads.append(_ad("hospital", number, f"/case/{number}.html", "case", "medical_service", case["title"],
                       seller, parts, dept=case["dept"]))  # fmt: skip
    return ads


# The JavaScript-only shop: its last ad's one claim is only in a lazy image's alt text.
JSMALL_PLAN = (("health_food", 8, 0.5), ("cosmetics", 6, 0.5))


def _jsmall(sites: Mapping[str, Any]) -> list[Ad]:
    ads = _shop_site("jsmall", JSMALL_PLAN, 5001, "/goods/{}.html", sites)
    composer = _Composer("cosmetics", "jsmall:lazy-alt", sites)
    claim = next(f for f in composer.fragments("violations") if f.alt)
    parts = composer.compose(False, seller=sites["sites"]["jsmall"]["name"])
    parts = {**parts, "alts": (*parts["alts"], claim.alt), "violations": claim.articles}
    number = 5001 + len(ads)
    ads.append(_ad("jsmall", number, f"/goods/{number}.html", "product", "cosmetics", _product_title(parts),
                   sites["sites"]["jsmall"]["name"], parts))  # fmt: skip
    return ads


NEWS_BANNERS = ("health_food", "investment", "medical_service", "food", "cosmetics", "general", "medical_device")
NEWS_ADVERTORIALS = ("health_food", "investment", "food", "cosmetics", "general", "medical_service")


def _news(sites: Mapping[str, Any]) -> tuple[list[Ad], list[Article]]:
    rng = random.Random("news")
    composers = {c: _Composer(c, f"news:{c}", sites) for c in {*NEWS_BANNERS, *NEWS_ADVERTORIALS}}
    hospital = sites["sites"]["hospital"]["name"]
    ads: list[Ad] = []
    banners = 18
    violators = _violators(rng, banners, 0.5)
    for i in range(banners):
        number = 7001 + i
        category = NEWS_BANNERS[i % len(NEWS_BANNERS)]
        composer = composers[category]
        parts = {**composer.compose(i in violators, seller=hospital), "prices": ()}
        advertiser = composer.company(parts["ctx"]["brand"])
        name = parts["product"]["name"]
        headline = f"{parts['ctx']['brand']}{name}" if category != "medical_service" else f"{hospital} {name}"
        title = f"{headline}：{parts['tag']}" if parts["tag"] else headline
        ads.append(_ad("news", number, f"/ad/{number}.html", "banner", category, title, advertiser, parts))

    templates = sites["advertorial"]
    editorial = sites["editorial"]
    advertorials = 30
    numbers = list(range(8001, 8001 + advertorials + len(editorial)))
    rng.shuffle(numbers)
    violators = _violators(rng, advertorials, 0.3)
    unlabelled = _violators(rng, advertorials, 0.4)
    channels = {"health_food": "health", "investment": "finance", "food": "health", "cosmetics": "health",
                "general": "local", "medical_service": "health"}  # fmt: skip
    for i in range(advertorials):
        number = numbers[i]
        category = NEWS_ADVERTORIALS[i % len(NEWS_ADVERTORIALS)]
        composer = composers[category]
        parts = {**composer.compose(i in violators, seller=hospital), "prices": ()}
        ctx = {**parts["ctx"], "name": parts["product"]["name"]}
        headline = composer.rng.choice(templates[category]["headline"]).format(**ctx)
        lead = composer.rng.choice(templates[category]["lead"]).format(**ctx)
        labelled = i not in unlabelled
        violations = parts["violations"] if labelled else (*parts["violations"], UNLABELLED_ADVERTORIAL)
        parts = {**parts, "paragraphs": (lead, *parts["paragraphs"]), "violations": violations}
        ads.append(_ad("news", number, f"/article/{number}.html", "advertorial", category, headline,
                       ctx["company"], parts, labelled=labelled, channel=channels[category]))  # fmt: skip
    articles = [
        Article(f"/article/{number}.html", a["channel"], a["title"], a["source"], tuple(a["body"]))
        for number, a in zip(numbers[advertorials:], editorial, strict=True)
    ]
    return ads, articles


@cache
def build_catalog() -> Catalog:
    """The whole sandbox catalog; deterministic, built once per process."""
    sites = _load("sites")
    news_ads, articles = _news(sites)
    ads = [
        *_mall(sites),
        *_hospital(sites),
        *_shop_site("healthfood", HEALTHFOOD_PLAN, 3001, "/product/{}.html", sites),
        *_shop_site("pharmacy", PHARMACY_PLAN, 4001, "/goods/{}.html", sites),
        *_collect(sites),
        *news_ads,
        *_jsmall(sites),
    ]
    shops = {int(i): (name, cat) for cat, shops in sites["mall_shops"].items() for i, name in shops.items()}
    return Catalog(
        ads=tuple(ads),
        editorial=tuple(sorted(articles, key=lambda a: a.path)),
        site_names={k: v["name"] for k, v in sites["sites"].items()},
        site_slogans={k: v["slogan"] for k, v in sites["sites"].items()},
        category_names={c: _load(c)["name"] for c in CATEGORIES},
        mall_shops=shops,
        mall_shop_banners={int(k): v for k, v in sites["mall_shop_banners"].items()},
        news_channels=dict(sites["news_channels"]),
    )

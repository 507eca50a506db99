"""Findings beyond ads that no single text shows (issue #20): 刷单炒信, 主体信息, 侵权假冒.

Pure functions over what the crawl extracted: a listing's reviews (bursts of top
ratings, near-duplicate texts), a shop page's licence block and footer (licence
missing, licence name ≠ seller, no ICP number), a listing's title and seller
against the 老字号/地理标志 authorisation list, and a crawl's prices per famous
brand.  Each finding becomes a hit of the same shape as the rule engine's, so
review, cases and statistics take it unchanged; the legal references are data
in ``rules/market/detectors.yaml`` and the lists beside it.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from datasketch import MinHash, MinHashLSH
from pydantic import Field, ValidationError, field_validator

from rules.normalize import normalize
from rules.rulebook import RulebookError, Severity, StrictModel, known_article, load_articles, load_rulebook

MARKET_DIR = Path(__file__).resolve().parent / "market"
#: Every rule id of a finding beyond ads starts so, the rulebook's (market_order.yaml) and the detectors'.
FINDING_PREFIX = "market-"
TOP_RATING = 5


class DetectorRule(StrictModel):
    """The legal reference of one detector's findings."""

    id: str = Field(pattern=rf"^{FINDING_PREFIX}[a-z0-9-]+$")
    description: str
    law: str
    article: str
    article_key: str
    see_also: list[str] = Field(default_factory=list)
    severity: Severity
    explanation: str
    penalty: str

    @field_validator("article_key")
    @classmethod
    def _known_key(cls, value: str) -> str:
        return known_article(value)

    @field_validator("see_also")
    @classmethod
    def _known_see_also(cls, values: list[str]) -> list[str]:
        return [known_article(value) for value in values]


class DetectorFile(StrictModel):
    version: str
    rules: list[DetectorRule]


class Brand(StrictModel):
    brand: str
    names: list[str] = Field(min_length=1)


class BrandFile(StrictModel):
    version: str
    brands: list[Brand]
    accessory_words: list[str] = Field(default_factory=list)


class ProtectedName(StrictModel):
    """A 中华老字号 or 地理标志 name and the sellers authorised to use it."""

    name: str = Field(min_length=2)
    kind: str
    sellers: list[str]


class AuthorisationFile(StrictModel):
    version: str
    names: list[ProtectedName]


@dataclass(frozen=True)
class MarketData:
    """The detectors' rules and lists, loaded and validated."""

    rules: dict[str, DetectorRule]
    brands: list[Brand]
    protected: list[ProtectedName]
    accessory_words: tuple[str, ...] = ()
    #: Article key → what a hit citing it adds to its explanation (``articles.yaml``: unverified numbers say so).
    notes: dict[str, str] = field(default_factory=dict)


def _load(path: Path, model: type[StrictModel]) -> Any:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return model.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise RulebookError([f"{path.name}: cannot read: {exc}"]) from exc
    except ValidationError as exc:
        raise RulebookError([_located(path, data, error) for error in exc.errors()]) from exc


def _located(path: Path, data: Any, error: Any) -> str:
    """``file: entry <name>: field 'a.b': message``: the entry named by its id, brand or name."""
    loc = list(error["loc"])
    where = ""
    if len(loc) >= 2 and isinstance(loc[1], int) and isinstance(data, dict):
        entries = data.get(loc[0]) or []
        entry = entries[loc[1]] if loc[1] < len(entries) and isinstance(entries[loc[1]], dict) else {}
        label = entry.get("id") or entry.get("brand") or entry.get("name") or f"#{loc[1]}"
        where, loc = f"entry {label}: ", loc[2:]
    field = ".".join(map(str, loc)) or "<top level>"
    return f"{path.name}: {where}field '{field}': {error['msg'].removeprefix('Value error, ')}"


def is_finding(rule_id: str) -> bool:
    """Whether a hit is a finding beyond ads (侵权假冒, 刷单炒信, 主体信息, 格式条款) rather than an ad hit."""
    return rule_id.startswith(FINDING_PREFIX)


def finding_labels(rulebook_dir: Path | None = None) -> dict[str, str]:
    """Rule id → its short Chinese description, for every finding kind (rulebook rules and detectors)."""
    labels = {rule.id: rule.description for rule in load_rulebook(rulebook_dir).rules if is_finding(rule.id)}
    return labels | {rule_id: rule.description for rule_id, rule in load_market_data().rules.items()}


@lru_cache(maxsize=4)
def load_market_data(directory: Path = MARKET_DIR) -> MarketData:
    """Load ``detectors.yaml``, ``brands.yaml`` and ``authorisations.yaml``; :class:`RulebookError` on any fault."""
    rules = _load(directory / "detectors.yaml", DetectorFile).rules
    brands = _load(directory / "brands.yaml", BrandFile)
    return MarketData(
        rules={rule.id: rule for rule in rules},
        brands=brands.brands,
        protected=_load(directory / "authorisations.yaml", AuthorisationFile).names,
        accessory_words=tuple(brands.accessory_words),
        notes={key: article.note for key, article in load_articles().items()},
    )


@dataclass(frozen=True)
class Finding:
    """One detector's finding: which rule, the evidence shown to the reviewer, and why."""

    rule_id: str
    matched: str
    detail: str

    def hit(self, data: MarketData, category: str = "general") -> dict[str, object]:
        """The finding as a hit, in the rule engine's hit shape (no text offsets: start = end = 0)."""
        rule = data.rules[self.rule_id]
        article = f"{rule.article}；另见{'、'.join(rule.see_also)}" if rule.see_also else rule.article
        note = data.notes.get(rule.article_key, "")
        return {
            "rule_id": rule.id,
            "law": rule.law,
            "article": article,
            "article_key": rule.article_key,
            "severity": rule.severity,
            "matched": self.matched,
            "start": 0,
            "end": 0,
            # The console names a rule by its explanation's first clause: the description leads.
            "explanation": f"{rule.description}。{rule.explanation}{self.detail}{note}",
            "penalty": rule.penalty,
            "category": category,
            "kind": "violation",
            "see_also": list(rule.see_also),
        }


# --- reviews --------------------------------------------------------------------------------

_WHEN = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:\s*(\d{1,2}):(\d{2}))?")
_RATING = re.compile(r"([1-5])\s*(?:星|分)|(★{1,5})(?!☆*★)")


@dataclass(frozen=True)
class Review:
    at: datetime | None
    rating: int | None
    text: str


def parse_review(line: str) -> Review:
    """One review as a page shows it: a date (and time), a rating (``5星``, ``5分``, ``★★★★★``), the words.

    What is neither date nor rating is the review's text.
    """
    at, rest = None, line
    when = _WHEN.search(rest)
    if when:
        year, month, day, hour, minute = (int(g) if g else 0 for g in when.groups())
        try:
            at = datetime(year, month, day, hour, minute)
        except ValueError:
            at = None
        rest = rest[: when.start()] + " " + rest[when.end() :]
    rating = None
    stars = _RATING.search(rest)
    if stars:
        rating = int(stars[1]) if stars[1] else len(stars[2])
        rest = rest[: stars.start()] + " " + rest[stars.end() :]
    return Review(at, rating, " ".join(rest.replace("☆", " ").split()))


def review_bursts(reviews: Sequence[Review], window: timedelta, minimum: int, share: float = 0.9) -> list[Finding]:
    """Top ratings crowded into ``window``: at least ``minimum`` of them, and at least ``share`` of all its reviews.

    A busy day of honest reviews has lower ratings among the top ones; a bought burst has none.
    """
    dated = sorted((r for r in reviews if r.at is not None), key=lambda r: r.at or datetime.min)
    best: tuple[int, int, int] | None = None  # (top ratings, first index, last index)
    end = 0
    for start, first in enumerate(dated):
        assert first.at is not None
        while end < len(dated) and (dated[end].at or datetime.max) - first.at <= window:
            end += 1
        span = dated[start:end]
        top = sum(1 for r in span if r.rating == TOP_RATING)
        if top >= minimum and top >= share * len(span) and (best is None or top > best[0]):
            best = (top, start, end - 1)
    if best is None:
        return []
    top, lo, hi = best
    first_at, last_at = dated[lo].at, dated[hi].at
    assert first_at is not None and last_at is not None
    matched = f"{top}条五星评价集中于 {first_at:%Y-%m-%d %H:%M} 至 {last_at:%Y-%m-%d %H:%M}"
    detail = f"（{matched}，占该时段评价的 {top}/{hi - lo + 1}；全部评价 {len(reviews)} 条）"
    return [Finding("market-review-burst", matched, detail)]


def _shingles(text: str, size: int = 3) -> set[str]:
    folded = re.sub(r"[\W_]+", "", normalize(text).text)
    return {folded[i : i + size] for i in range(max(1, len(folded) - size + 1))}


def duplicate_reviews(
    reviews: Sequence[Review], threshold: float, minimum: int, min_chars: int = 10, num_perm: int = 128
) -> list[Finding]:
    """Groups of at least ``minimum`` reviews whose texts are near-duplicates (MinHash Jaccard ≥ ``threshold``).

    Short praise (好评, 不错) is left out: honest buyers write it alike.
    """
    texts = [r.text for r in reviews if len(re.sub(r"\W+", "", r.text)) >= min_chars]
    if len(texts) < minimum:
        return []
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    hashes: list[MinHash] = []
    for index, text in enumerate(texts):
        minhash = MinHash(num_perm=num_perm, seed=1)
        minhash.update_batch(s.encode("utf-8") for s in _shingles(text))
        lsh.insert(str(index), minhash)
        hashes.append(minhash)
    groups = _groups(len(texts), (lsh.query(m) for m in hashes))
    biggest = max(groups, key=len)
    if len(biggest) < minimum:
        return []
    sample = texts[min(biggest)]
    matched = f"{len(biggest)}条评价文字近似：“{sample[:40]}”"
    return [Finding("market-review-duplicate", matched, f"（{matched}；全部评价 {len(reviews)} 条）")]


def _groups(size: int, neighbours: Iterable[list[str]]) -> list[set[int]]:
    """Connected groups of items, given each item's neighbours (union-find)."""
    parent = list(range(size))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for index, found in enumerate(neighbours):
        for other in found:
            parent[root(int(other))] = root(index)
    groups: dict[int, set[int]] = {}
    for index in range(size):
        groups.setdefault(root(index), set()).add(index)
    return list(groups.values())


_COUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(万|千|w|k)?", re.IGNORECASE)
_UNITS = {"万": 10_000, "w": 10_000, "千": 1_000, "k": 1_000}


def parse_count(text: str) -> int | None:
    """A count as a page shows it: '已售 1.2万+' → 12000, '累计评价 34' → 34, '月销 2k' → 2000; ``None`` without one."""
    found = _COUNT.search(text.replace(",", ""))
    if found is None:
        return None
    return round(float(found[1]) * _UNITS.get((found[2] or "").lower(), 1))


@dataclass(frozen=True)
class Counts:
    """What one crawl saw of a listing's sales and review counts."""

    observed_at: str
    sales: int
    reviews: int


def sales_without_reviews(history: Sequence[Counts], min_gain: int, review_share: float) -> list[Finding]:
    """Sales up by at least ``min_gain`` between the first and the last crawl while reviews grew by less than
    ``review_share`` of that: bought sales leave no buyers to review them."""
    if len(history) < 2:
        return []
    first, last = history[0], history[-1]
    sales, reviews = last.sales - first.sales, last.reviews - first.reviews
    if sales < min_gain or reviews >= review_share * sales:
        return []
    matched = f"销量 {first.sales}→{last.sales}（+{sales}），评价 {first.reviews}→{last.reviews}（+{reviews}）"
    return [
        Finding("market-sales-without-reviews", matched, f"（{matched}；{first.observed_at} 至 {last.observed_at}）")
    ]


# --- shop pages: licence and ICP ------------------------------------------------------------

_LICENCE_NAME = re.compile(r"(?:企业名称|公司名称|经营者名称|名称)\s*[:：]\s*([^\s,，;；|]{2,60})")
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# 浙ICP备2023056789号, 京ICP证030173号, 鄂ICP证:020001-5, and the operating licence 浙B2-20080224.
_ICP = re.compile(rf"[{_PROVINCES}]ICP[备证]?[:：]?\d{{6,}}|[{_PROVINCES}]B2-\d{{8}}")
_COMPANY_NOISE = re.compile(r"[\s()（）]")


def licence_findings(seller: str, licence: str) -> list[Finding]:
    """A shop page with no licence information or link; a licence whose name is not the seller shown."""
    if not licence.strip():
        return [Finding("market-licence-missing", "未见营业执照信息或链接", f"（店铺经营者：{seller or '未显示'}）")]
    name = _LICENCE_NAME.search(licence)
    if name and seller and _COMPANY_NOISE.sub("", name[1]) != _COMPANY_NOISE.sub("", seller):
        matched = f"执照名称 {name[1]} ≠ 经营者 {seller}"
        return [Finding("market-licence-name-mismatch", matched, f"（{matched}）")]
    return []


def icp_findings(footer: str) -> list[Finding]:
    """A page footer that shows no ICP record or licence number (an empty footer tells nothing)."""
    if not footer.strip() or _ICP.search(footer.replace(" ", "")):
        return []
    return [Finding("market-icp-missing", "页脚未见ICP备案号", f"（页脚：{footer[:60]}）")]


# --- names and brands -----------------------------------------------------------------------


def heritage_findings(title: str, seller: str, protected: Sequence[ProtectedName]) -> list[Finding]:
    """A 老字号 or 地理标志 name in the title of a seller not authorised to use it."""
    found = []
    for entry in protected:
        if entry.name in title and seller not in entry.sellers:
            matched = f"{entry.kind}“{entry.name}”，经营者 {seller or '未显示'} 不在授权名单"
            found.append(Finding("market-heritage-unauthorised", matched, f"（{matched}）"))
    return found


def brand_of(title: str, brands: Sequence[Brand], accessory_words: Sequence[str] = ()) -> str | None:
    """The one brand a title names (ASCII names as whole words), or ``None`` for none, several, or an accessory.

    A screen film or a cable "for iPhone" names the brand of what it fits, not its own.
    """
    folded = normalize(title).text
    if any(word in folded for word in accessory_words):
        return None
    named = {brand.brand for brand in brands for name in brand.names if _names(folded, name.lower())}
    return named.pop() if len(named) == 1 else None


def _names(folded: str, name: str) -> bool:
    if name.isascii():
        return re.search(rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9])", folded) is not None
    return name in folded


@dataclass(frozen=True)
class PricedListing:
    key: str  # the listing's canonical URL
    title: str
    price: float


def price_anomalies(
    listings: Sequence[PricedListing], data: MarketData, ratio: float, peers: int
) -> dict[str, Finding]:
    """Listings priced below ``ratio`` × the median of the same brand's other listings (at least ``peers`` of them)."""
    by_brand: dict[str, list[PricedListing]] = {}
    for listing in listings:
        brand = brand_of(listing.title, data.brands, data.accessory_words)
        if brand and listing.price > 0:
            by_brand.setdefault(brand, []).append(listing)
    found: dict[str, Finding] = {}
    for brand, group in by_brand.items():
        for listing in group:
            others = [other.price for other in group if other.key != listing.key]
            if len(others) < peers:
                continue
            level = statistics.median(others)
            if listing.price < ratio * level:
                matched = f"{brand} ¥{listing.price:.2f}，同次抓取该品牌中位价 ¥{level:.2f}"
                detail = f"（{matched}，比较了 {len(others)} 件；低于 {ratio:.0%}）"
                found[listing.key] = Finding("market-brand-price-anomaly", matched, detail)
    return found

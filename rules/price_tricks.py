"""Price tricks that only a listing's price history shows: 先涨后降, 虚构原价 and 折扣不符.

Pure functions over observations (time, current price, reference/"original"
price, page text); the price-history pipeline stage feeds them and stores what
they find as hits.  A *promotion episode* is the run of consecutive
observations that show the same reference price above the current price: the
comparison began at its first observation.

The rules themselves are rulebook entries (``rulebook/price_history.yaml``) citing
``rulebook/articles.yaml``: an article of 《明码标价和禁止价格欺诈规定》 (国家市场监督管理总局令
第56号, 2022-07-01) whose number could not be checked against the official text is
marked ``verified: false`` there, and every hit citing it says so in its explanation (``Article.note``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from rules.rulebook import DEFAULT_RULEBOOK_DIR, RulebookError, lint_rule_files, load_articles

PRICE_RULE_FILE = DEFAULT_RULEBOOK_DIR / "price_history.yaml"


@dataclass(frozen=True)
class PriceRule:
    """A price-history rule of the rulebook (``price_history.yaml``) with what its article says of itself."""

    rule_id: str
    law: str
    article: str
    article_key: str
    severity: str
    note: str
    description: str
    penalty: str


@cache
def price_rules() -> dict[str, PriceRule]:
    """The rulebook's ``price_history`` rules by id, read once from their own file (they use no lexicon)."""
    articles = load_articles()
    rules, _versions, problems = lint_rule_files([PRICE_RULE_FILE], lexicons={}, articles=articles)
    if problems:
        raise RulebookError(problems)
    return {
        rule.id: PriceRule(
            rule.id,
            rule.law,
            rule.article,
            rule.article_key,
            rule.severity,
            articles[rule.article_key].note,
            rule.explanation,
            rule.penalty,
        )
        for rule in rules
        if rule.kind == "price_history"
    }


@dataclass(frozen=True)
class Observation:
    """What one crawl saw of a listing: its current price and, if shown, the reference price."""

    observed_at: datetime
    price: float
    reference: float | None = None
    text: str = ""

    @property
    def discounted(self) -> bool:
        return self.reference is not None and self.reference > self.price

    @property
    def list_price(self) -> float:
        """The price the shop presents as the normal one: the reference if shown, else the current price."""
        return self.reference if self.reference is not None else self.price


@dataclass(frozen=True)
class StatedDiscount:
    text: str
    ratio: float
    start: int


@dataclass(frozen=True)
class PriceFinding:
    """One trick found; ``key`` makes the hit id stable across crawls of the same episode."""

    rule_id: str
    key: str
    matched: str
    explanation: str
    start: int = 0
    end: int = 0

    def hit(self) -> dict[str, object]:
        rule = price_rules()[self.rule_id]
        return {
            "rule_id": rule.rule_id,
            "law": rule.law,
            "article": rule.article,
            "article_key": rule.article_key,
            "severity": rule.severity,
            "category": "price",
            "matched": self.matched,
            "start": self.start,
            "end": self.end,
            "explanation": f"{rule.description}：{self.explanation}{rule.note}",
            "penalty": rule.penalty,
        }


_DIGITS = re.compile(r"(\d{1,2}(?:\.\d)?)\s*折")
_HANZI = re.compile(r"([一二三四五六七八九])([一二三四五六七八九])?折")
_HANZI_VALUE = {c: i for i, c in enumerate("一二三四五六七八九", 1)}
# "低至5折" (as low as), "5折起" (from): a range over many goods, not this listing's discount.
_QUALIFIERS_BEFORE = ("低至", "最低", "最高", "最多", "不到")


def stated_discounts(text: str) -> list[StatedDiscount]:
    """Discounts the copy states for this listing: '5折' → 0.5, '8.5折'/'八五折'/'85折' → 0.85, '半价' → 0.5."""
    found: list[StatedDiscount] = []
    for match in _DIGITS.finditer(text):
        value = float(match[1])
        found.append(StatedDiscount(match[0], value / 10 if value < 10 else value / 100, match.start()))
    for match in _HANZI.finditer(text):
        tens, ones = _HANZI_VALUE[match[1]], _HANZI_VALUE.get(match[2] or "", 0)
        found.append(StatedDiscount(match[0], tens / 10 + ones / 100, match.start()))
    found += [StatedDiscount("半价", 0.5, m.start()) for m in re.finditer("半价", text)]
    return [d for d in found if 0 < d.ratio < 1 and not _qualified(text, d)]


def _qualified(text: str, discount: StatedDiscount) -> bool:
    before = text[max(0, discount.start - 2) : discount.start]
    after = text[discount.start + len(discount.text) : discount.start + len(discount.text) + 1]
    return before in _QUALIFIERS_BEFORE or after == "起"


def _money(value: float) -> str:
    return f"¥{value:.2f}"


def current_episode(history: Sequence[Observation]) -> list[Observation]:
    """The promotion episode the latest observation belongs to (empty if it shows no discount)."""
    episode: list[Observation] = []
    for obs in reversed(history):
        if not obs.discounted or (episode and abs(obs.reference - episode[0].reference) > 0.005):  # type: ignore[operator]
            break
        episode.insert(0, obs)
    return episode


def check_discount_claim(latest: Observation, tolerance: float) -> PriceFinding | None:
    """A stated discount ('5折') that the current and reference prices contradict."""
    if not latest.discounted:
        return None
    actual = latest.price / latest.reference  # type: ignore[operator]
    stated = stated_discounts(latest.text)
    if not stated or any(abs(d.ratio - actual) <= tolerance for d in stated):
        return None
    claim = stated[0]
    matched = f"{claim.text}：现价{_money(latest.price)} / 原价{_money(latest.reference)}"  # type: ignore[arg-type]
    explanation = (
        f"页面标示“{claim.text}”（{claim.ratio:.2f}），而现价与原价之比为 {actual:.2f} "
        f"(stated discount {claim.ratio:.2f}, actual {actual:.2f})"
    )
    key = f"{claim.text}|{latest.price:.2f}|{latest.reference:.2f}"
    end = claim.start + len(claim.text)
    return PriceFinding("price-discount-mismatch", key, matched, explanation, claim.start, end)


def check_seven_day_low(history: Sequence[Observation], days: int) -> PriceFinding | None:
    """A reference price above the lowest price of the ``days`` before the comparison began."""
    episode = current_episode(history)
    if not episode:
        return None
    began, reference = episode[0].observed_at, episode[0].reference
    before = [o for o in history if o.observed_at < began]
    prior = [o for o in before if o.observed_at >= began - timedelta(days=days)] or before[-1:]
    if not prior:
        return None  # never seen before the comparison: nothing to compare with
    low = min(o.price for o in prior)
    if reference <= low + 0.005:  # type: ignore[operator]
        return None
    matched = f"原价{_money(reference)}；前{days}日最低{_money(low)}"  # type: ignore[arg-type]
    explanation = (
        f"{began:%Y-%m-%d} 起标原价{_money(reference)}，但此前{days}日内观察到的最低价为{_money(low)} "  # type: ignore[arg-type]
        f"(reference price above the lowest price of the prior {days} days)"
    )
    return PriceFinding("price-reference-above-7day-low", f"{began:%Y-%m-%d}|{reference:.2f}", matched, explanation)


def check_raise_then_discount(history: Sequence[Observation], lookback_days: int) -> PriceFinding | None:
    """先涨后降: the list price was raised within ``lookback_days`` before the promotion, then "discounted"."""
    episode = current_episode(history)
    if not episode:
        return None
    began, reference, sale = episode[0].observed_at, episode[0].reference, episode[-1].price
    before = [o for o in history if began - timedelta(days=lookback_days) <= o.observed_at < began]
    raise_from = _raise_before(before)
    if raise_from is None or reference <= raise_from.list_price + 0.005:  # type: ignore[operator]
        return None
    low = raise_from.list_price
    verdict = "折后价仍不低于提价前价格" if sale >= low else "折扣按提价后的价格计算"
    matched = f"{_money(low)} → 原价{_money(reference)} → 现价{_money(sale)}"  # type: ignore[arg-type]
    explanation = (
        f"{raise_from.observed_at:%Y-%m-%d} 售价{_money(low)}，促销（{began:%Y-%m-%d}）前{lookback_days}日内提价，"
        f"促销时标原价{_money(reference)}、现价{_money(sale)}，{verdict} "  # type: ignore[arg-type]
        f"(price raised before the promotion, then discounted from the raised price)"
    )
    return PriceFinding("price-raise-then-discount", f"{began:%Y-%m-%d}|{reference:.2f}", matched, explanation)


def _raise_before(before: Sequence[Observation]) -> Observation | None:
    """The observation before the last rise of the list price in ``before``, if it rose at all."""
    for earlier, later in zip(reversed(before[:-1]), reversed(before[1:]), strict=True):
        if later.list_price > earlier.list_price + 0.005:
            return earlier
    return None


def find_tricks(
    history: Sequence[Observation], *, compare_days: int = 7, lookback_days: int = 30, tolerance: float = 0.02
) -> list[PriceFinding]:
    """Every trick the listing's history (oldest first) shows as of its latest observation."""
    if not history:
        return []
    checks = (
        check_raise_then_discount(history, lookback_days),
        check_seven_day_low(history, compare_days),
        check_discount_claim(history[-1], tolerance),
    )
    return [finding for finding in checks if finding is not None]

"""Ad category classification from text, title and caller hints.

Scores come from the category lexicon in ``categories.yaml``: a distinct strong
keyword scores 3, a distinct weak keyword 1, a keyword in the title counts once
more, an approval-number pattern scores 6 and a caller hint 10.  Categories at
or above the threshold are kept, highest first; a kept category removes the
categories it ``overrides`` (a 保健食品 is also a food, but only 第十八条 applies).

When the caller hints a category (the crawl profile knows the page is a cosmetics
listing), keywords alone add no other category: “保质期” does not make a face cream
a food, nor “医院皮肤科专用” a cosmetic a medical service.  Another category is
added only on an approval or registration number (a pattern), or when it refines
the hinted one (``overrides``: a 保健食品 on a page hinted 食品).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from rules.normalize import normalize_term
from rules.rulebook import CATEGORY_LABELS, CategoryFile

STRONG_WEIGHT = 3
WEAK_WEIGHT = 1
PATTERN_WEIGHT = 6
HINT_WEIGHT = 10
GENERAL = "general"
MEMO_SIZE = 4096

_LABEL_TO_KEY = {label: key for key, label in CATEGORY_LABELS.items()}
_LABEL_TO_KEY.update({"收藏品": "investment", "投资理财": "investment", "食品": "food", "医疗": "medical_service"})


def _literal_prefix(pattern: str) -> str:
    """The literal text every match of ``pattern`` starts with (two characters or more), or ``""``.

    A pattern with such a prefix is only searched when the automaton found the prefix.
    """
    if "|" in pattern:
        return ""
    literal = re.match(r"[^\\\[\](){}?*+|^$.]*", pattern)
    prefix = literal.group() if literal else ""
    if prefix and re.match(r"[?*{]", pattern[len(prefix) :]):
        prefix = prefix[:-1]
    return normalize_term(prefix) if len(prefix) >= 2 else ""


def hint_to_category(hint: str) -> str | None:
    """Map a caller hint (key or Chinese label) to a category key."""
    value = hint.strip()
    if value in CATEGORY_LABELS:
        return value
    return _LABEL_TO_KEY.get(value)


@dataclass(slots=True)
class _Score:
    points: int = 0
    decisive: bool = False
    hinted: bool = False
    patterned: bool = False
    evidence: list[str] = field(default_factory=list)


def _score_of(scores: dict[str, _Score], key: str) -> _Score:
    """``scores[key]``, created on first use (``setdefault`` would build a score on every call)."""
    score = scores.get(key)
    if score is None:
        score = scores[key] = _Score()
    return score


@dataclass(frozen=True)
class Classification:
    """Categories, highest score first, and a Chinese reason for each.

    Immutable: the classifier hands the same object to every ad with the same evidence.
    """

    categories: tuple[str, ...]
    reasons: Mapping[str, str]


_GENERAL_ONLY = Classification((GENERAL,), MappingProxyType({GENERAL: "未命中任何专门类别的关键词，按一般商品处理"}))


class CategoryClassifier:
    """Decides which ad categories a text belongs to."""

    def __init__(self, spec: CategoryFile) -> None:
        self.threshold = spec.threshold
        self._strong = {key: [normalize_term(t) for t in cat.strong] for key, cat in spec.categories.items()}
        self._weak = {key: [normalize_term(t) for t in cat.weak] for key, cat in spec.categories.items()}
        self._patterns = {
            key: [(_literal_prefix(p), re.compile(p)) for p in cat.patterns] for key, cat in spec.categories.items()
        }
        self._pattern_list = [
            (key, prefix, pattern) for key, patterns in self._patterns.items() for prefix, pattern in patterns
        ]
        # When every pattern has a literal prefix, a text holding none of them skips the patterns at once.
        self._prefixes = frozenset(prefix for _key, prefix, _pattern in self._pattern_list if prefix)
        self._prefixes_only = all(prefix for _key, prefix, _pattern in self._pattern_list)
        self._overrides = {key: list(cat.overrides) for key, cat in spec.categories.items()}
        self._override_sets = {key: frozenset(overrides) for key, overrides in self._overrides.items()}
        self._index: dict[str, list[tuple[str, int]]] = {}
        for weight, mapping in ((STRONG_WEIGHT, self._strong), (WEAK_WEIGHT, self._weak)):
            for key, words in mapping.items():
                for word in words:
                    self._index.setdefault(word, []).append((key, weight))
        self._keywords = frozenset(self._index)
        self._memo: dict[tuple[Any, ...], Classification] = {}

    @property
    def terms(self) -> set[str]:
        """Every keyword the shared automaton must report."""
        found: set[str] = set()
        for mapping in (self._strong, self._weak):
            for words in mapping.values():
                found.update(words)
        found.update(prefix for patterns in self._patterns.values() for prefix, _pattern in patterns if prefix)
        return found

    def classify(
        self,
        text: str,
        text_terms: AbstractSet[str],
        title_terms: AbstractSet[str],
        hints: Iterable[str] = (),
    ) -> Classification:
        """Classify a normalised text given the keywords found in it and in its title.

        The outcome depends only on the hints, the keywords found in the text and in
        the title, and what the category patterns matched, so it is memoised on those:
        listings of one site share most of their wording.
        """
        keywords = self._keywords
        evidence = (
            tuple(hints),
            keywords.intersection(text_terms),
            keywords.intersection(title_terms) if title_terms else frozenset(),
            self._pattern_matches(text, text_terms),
        )
        classification = self._memo.get(evidence)
        if classification is None:
            if len(self._memo) >= MEMO_SIZE:
                del self._memo[next(iter(self._memo))]
            classification = self._memo[evidence] = self._classify(*evidence)
        return classification

    def _pattern_matches(self, text: str, text_terms: AbstractSet[str]) -> tuple[tuple[str, str], ...]:
        """``(category, matched text)`` for each category pattern that matches, in lexicon order."""
        if self._prefixes_only and self._prefixes.isdisjoint(text_terms):
            return ()
        matches = []
        for key, prefix, pattern in self._pattern_list:
            if prefix and prefix not in text_terms:
                continue
            match = pattern.search(text)
            if match:
                matches.append((key, match.group()))
        return tuple(matches)

    def _classify(
        self,
        hints: Sequence[str],
        text_keywords: AbstractSet[str],
        title_keywords: AbstractSet[str],
        pattern_matches: Sequence[tuple[str, str]],
    ) -> Classification:
        scores: dict[str, _Score] = {}
        self._score_hints(hints, scores)
        self._score_keywords(text_keywords, title_keywords, pattern_matches, scores)
        hinted = any(score.hinted for score in scores.values())
        refiners = self._overriders(scores) if hinted else set()
        kept = [
            key
            for key, score in scores.items()
            if score.decisive
            and score.points >= self.threshold
            and (not hinted or score.hinted or score.patterned or key in refiners)
        ]
        kept.sort(key=lambda key: (-scores[key].points, key))
        kept = self._apply_overrides(kept)
        if not kept:
            return _GENERAL_ONLY
        reasons = {key: self._reason(scores[key]) for key in kept}
        return Classification(tuple(kept), MappingProxyType(reasons))

    def _score_hints(self, hints: Iterable[str], scores: dict[str, _Score]) -> None:
        for hint in hints:
            key = hint_to_category(hint)
            if key is None:
                continue
            score = _score_of(scores, key)
            score.points += HINT_WEIGHT
            score.decisive = True
            score.hinted = True
            score.evidence.append(f"调用方提示“{CATEGORY_LABELS[key]}”")

    def _score_keywords(
        self,
        text_keywords: AbstractSet[str],
        title_keywords: AbstractSet[str],
        pattern_matches: Sequence[tuple[str, str]],
        scores: dict[str, _Score],
    ) -> None:
        found: dict[str, _Score] = {}
        for word in sorted(text_keywords | title_keywords):
            in_title = word in title_keywords
            for key, weight in self._index[word]:
                score = found.get(key)
                if score is None:
                    score = found[key] = _Score()
                score.points += weight + (weight if in_title else 0)
                score.evidence.append(word)
                score.decisive = score.decisive or weight == STRONG_WEIGHT
        for key, matched in pattern_matches:
            score = _score_of(found, key)
            score.points += PATTERN_WEIGHT
            score.evidence.append(matched)
            score.decisive = True
            score.patterned = True
        for key, partial in found.items():
            score = _score_of(scores, key)
            score.points += partial.points
            score.decisive = score.decisive or partial.decisive
            score.patterned = score.patterned or partial.patterned
            score.evidence.append("关键词：" + "、".join(partial.evidence[:6]))

    def _overriders(self, scores: Mapping[str, _Score]) -> set[str]:
        """Categories that refine a hinted one (a hinted 食品 page selling a 保健食品)."""
        hinted = {key for key, score in scores.items() if score.hinted}
        return {key for key, overridden in self._override_sets.items() if not overridden.isdisjoint(hinted)}

    def _apply_overrides(self, kept: Sequence[str]) -> list[str]:
        removed: set[str] = set()
        for key in kept:
            if key in removed:
                continue
            removed.update(self._overrides.get(key, []))
        return [key for key in kept if key not in removed]

    @staticmethod
    def _reason(score: _Score) -> str:
        return "；".join(score.evidence) + f"（得分 {score.points}）"

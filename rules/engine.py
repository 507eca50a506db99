"""The rule engine: compile the rulebook once, then check texts.

Matching runs in three stages:

1. normalise the text (:mod:`rules.normalize`) and scan it once with one
   Aho–Corasick automaton holding every term of the rulebook and classifier;
2. classify the ad (:mod:`rules.classify`) and keep the rules that apply;
3. for each candidate, check proximity, triggered regexes and exemptions in a
   small window, and, for ``word_boundary`` rules, let jieba segment that window.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import ahocorasick
import jieba

from rules.classify import CategoryClassifier
from rules.normalize import Normalized, normalize, normalize_term
from rules.rulebook import ARTICLE_KEYS, CATEGORY_LABELS, Near, Pattern, Rule, Rulebook, load_rulebook

__all__ = ["ARTICLE_KEYS", "CATEGORY_LABELS", "CheckResult", "Hit", "RuleEngine"]

logger = logging.getLogger(__name__)

SEVERITY_WEIGHTS = {"high": 0.6, "medium": 0.35, "low": 0.15}
CLAUSE_BREAKS = frozenset("，,。！!？?；;\n\r：:、")
SENTENCE_BREAKS = frozenset("。！!？?；;\n\r")
CONTEXT_CHARS = 24
REGEX_WINDOW = 40
JIEBA_WINDOW = 6

Span = tuple[int, int]


@dataclass(frozen=True)
class Hit:
    """One violation candidate; ``start``/``end`` index the caller's original text."""

    rule_id: str
    law: str
    article: str
    article_key: str
    severity: str
    matched: str
    start: int
    end: int
    explanation: str
    penalty: str
    category: str


@dataclass(frozen=True)
class CheckResult:
    """The outcome of :meth:`RuleEngine.check`."""

    flagged: bool
    categories: list[str]
    category_reasons: dict[str, str]
    hits: list[Hit]
    risk: float
    article_keys: list[str] = field(default_factory=list)


class _Document:
    """A normalised text and the term occurrences found in it."""

    def __init__(self, norm: Normalized, occurrences: dict[str, list[Span]]) -> None:
        self.norm = norm
        self.text = norm.text
        self.occurrences = occurrences
        self.found = occurrences.keys()
        self._starts = {term: [span[0] for span in spans] for term, spans in occurrences.items()}
        self.all_spans = sorted((s, e, term) for term, spans in occurrences.items() for s, e in spans)
        self.all_starts = [entry[0] for entry in self.all_spans]

    def window(self, lo: int, hi: int) -> list[tuple[int, int, str]]:
        """Every occurrence starting in ``[lo, hi]``."""
        first = bisect.bisect_left(self.all_starts, lo)
        last = bisect.bisect_right(self.all_starts, hi)
        return self.all_spans[first:last]

    def spans(self, term: str) -> list[Span]:
        return self.occurrences.get(term, [])

    def spans_in(self, term: str, lo: int, hi: int) -> list[Span]:
        """Occurrences of ``term`` starting in ``[lo, hi]``."""
        starts = self._starts.get(term)
        if not starts:
            return []
        first = bisect.bisect_left(starts, lo)
        last = bisect.bisect_right(starts, hi)
        return self.occurrences[term][first:last]

    def has_any(self, terms: Iterable[str]) -> bool:
        return any(term in self.occurrences for term in terms)

    def clause_start(self, pos: int, breaks: frozenset[str] = CLAUSE_BREAKS, limit: int = CONTEXT_CHARS) -> int:
        lo = max(0, pos - limit)
        for index in range(pos - 1, lo - 1, -1):
            if self.text[index] in breaks:
                return index + 1
        return lo

    def clause_end(self, pos: int, breaks: frozenset[str] = CLAUSE_BREAKS, limit: int = CONTEXT_CHARS) -> int:
        hi = min(len(self.text), pos + limit)
        for index in range(pos, hi):
            if self.text[index] in breaks:
                return index
        return hi

    def crosses_clause(self, lo: int, hi: int) -> bool:
        return any(char in CLAUSE_BREAKS for char in self.text[lo:hi])


@dataclass
class _CompiledRule:
    """A rule with its regexes compiled and its terms normalised."""

    rule: Rule
    terms: list[str]
    regexes: list[tuple[re.Pattern[str], list[str]]]
    nears: list[Near]
    exempt_terms: list[str]
    before: re.Pattern[str] | None
    after: re.Pattern[str] | None
    sentence: list[re.Pattern[str]]
    sentence_all: list[re.Pattern[str]]
    document: list[re.Pattern[str]]
    required: list[tuple[str, list[re.Pattern[str]]]]
    requires: list[list[str]]
    own_terms: frozenset[str] = frozenset()
    term_set: frozenset[str] = frozenset()
    exempt_set: frozenset[str] = frozenset()
    exempt_max_len: int = 0
    anchors: frozenset[str] = frozenset()

    @classmethod
    def build(cls, rule: Rule) -> _CompiledRule:
        ex = rule.exemptions
        terms = _norm_all(t for p in rule.patterns for t in p.terms)
        nears = [_norm_near(p.near) for p in rule.patterns if p.near is not None]
        regexes = [(re.compile(p.regex), _norm_all(p.triggers)) for p in rule.patterns if p.regex is not None]
        return cls(
            rule=rule,
            terms=terms,
            regexes=regexes,
            nears=nears,
            exempt_terms=_norm_all(ex.terms),
            before=re.compile(f"(?:{ex.before})$") if ex.before else None,
            after=re.compile(f"^(?:{ex.after})") if ex.after else None,
            sentence=[re.compile(p) for p in ex.sentence],
            sentence_all=[re.compile(p) for p in ex.sentence_all],
            document=[re.compile(p) for p in ex.document],
            required=[(req.label, [re.compile(p) for p in req.any]) for req in rule.required],
            requires=[_norm_all(group) for group in rule.requires],
            own_terms=frozenset(terms) | frozenset(t for n in nears for t in (*n.first, *n.second)),
            term_set=frozenset(terms),
            exempt_set=frozenset(_norm_all(ex.terms)),
            exempt_max_len=max((len(t) for t in _norm_all(ex.terms)), default=0),
            anchors=frozenset(terms)
            | frozenset(t for n in nears for t in n.first)
            | frozenset(t for _r, triggers in regexes for t in triggers),
        )

    def automaton_terms(self) -> set[str]:
        found = set(self.terms) | set(self.exempt_terms)
        for near in self.nears:
            found.update(near.first)
            found.update(near.second)
        for _regex, triggers in self.regexes:
            found.update(triggers)
        for group in self.requires:
            found.update(group)
        return found


def _norm_all(terms: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(normalize_term(term) for term in terms if normalize_term(term)))


def _norm_near(near: Near) -> Near:
    return near.model_copy(update={"first": _norm_all(near.first), "second": _norm_all(near.second)})


class _Segmenter:
    """jieba, initialised once, with the rulebook terms added to its dictionary."""

    def __init__(self, words: Iterable[str]) -> None:
        jieba.setLogLevel(logging.WARNING)
        self._tokenizer = jieba.Tokenizer()
        self._tokenizer.initialize()
        for word in sorted(words):
            if len(word) > 1 and self._tokenizer.FREQ.get(word) is None:
                self._tokenizer.add_word(word)
        self.cut = lru_cache(maxsize=8192)(self._cut)

    def _cut(self, window: str) -> tuple[str, ...]:
        return tuple(self._tokenizer.cut(window, HMM=False))


class RuleEngine:
    """Compiles a rulebook once and checks ad texts against it."""

    def __init__(self, rulebook: Rulebook) -> None:
        self.rulebook = rulebook
        self.rulebook_version = rulebook.version
        self.rules: list[Rule] = list(rulebook.rules)
        self.classifier = CategoryClassifier(rulebook.categories)
        self._compiled = [_CompiledRule.build(rule) for rule in self.rules]
        terms = set(self.classifier.terms)
        for compiled in self._compiled:
            terms.update(compiled.automaton_terms())
        self.terms: frozenset[str] = frozenset(term for term in terms if term)
        self._automaton = self._build_automaton(self.terms)
        self._segmenter = _Segmenter(terms)
        self._applicable_cache: dict[tuple[str, ...], list[tuple[_CompiledRule, str]]] = {}

    @classmethod
    def from_directory(cls, directory: Path | str | None = None) -> RuleEngine:
        """Build an engine from a rulebook folder (default: ``rules/rulebook``)."""
        return cls(load_rulebook(directory))

    @staticmethod
    def _build_automaton(terms: Iterable[str]) -> ahocorasick.Automaton:
        automaton = ahocorasick.Automaton()
        for term in sorted(terms):
            if term:
                automaton.add_word(term, term)
        automaton.make_automaton()
        return automaton

    def scan(self, text: str) -> dict[str, list[Span]]:
        """All automaton terms in an already normalised text, by term, in order."""
        found: dict[str, list[Span]] = defaultdict(list)
        for end, term in self._automaton.iter(text):
            found[term].append((end - len(term) + 1, end + 1))
        for spans in found.values():
            spans.sort()
        return dict(found)

    def check(self, text: str, title: str = "", category_hints: Sequence[str] = ()) -> CheckResult:
        """Check one ad text. Offsets in hits index ``text``; ``title`` only helps classification."""
        norm = normalize(text)
        doc = _Document(norm, self.scan(norm.text))
        title_terms = self.scan(normalize(title).text) if title else {}
        counts = {term: len(spans) for term, spans in doc.occurrences.items()}
        classification = self.classifier.classify(doc.text, counts, title_terms, category_hints)
        hits: list[Hit] = []
        for compiled, category in self._applicable(tuple(classification.categories)):
            if self._requirements_met(compiled, doc):
                hits.extend(self._rule_hits(compiled, doc, category))
        hits.sort(key=lambda hit: (hit.start, hit.end, hit.rule_id))
        return CheckResult(
            flagged=bool(hits),
            categories=classification.categories,
            category_reasons=classification.reasons,
            hits=hits,
            risk=_risk(hits),
            article_keys=sorted({hit.article_key for hit in hits}, key=ARTICLE_KEYS.index),
        )

    def _applicable(self, categories: tuple[str, ...]) -> list[tuple[_CompiledRule, str]]:
        """The rules that apply to an ad of these categories (memoised per category tuple)."""
        cached = self._applicable_cache.get(categories)
        if cached is None:
            cached = []
            for compiled in self._compiled:
                category = compiled.rule.applies_to(categories)
                if category is not None:
                    cached.append((compiled, category))
            self._applicable_cache[categories] = cached
        return cached

    @staticmethod
    def _requirements_met(compiled: _CompiledRule, doc: _Document) -> bool:
        if compiled.rule.kind == "match" and compiled.anchors.isdisjoint(doc.found):
            return False
        if not all(doc.has_any(group) for group in compiled.requires):
            return False
        return not any(pattern.search(doc.text) for pattern in compiled.document)

    def _rule_hits(self, compiled: _CompiledRule, doc: _Document, category: str) -> list[Hit]:
        if compiled.rule.kind == "absence":
            return self._absence_hits(compiled, doc, category)
        spans = _maximal(self._candidates(compiled, doc))
        kept = [span for span in spans if not self._exempt(compiled, doc, span)]
        if compiled.rule.max_hits is not None:
            kept = kept[: compiled.rule.max_hits]
        return [self._make_hit(compiled.rule, doc.norm, span, category) for span in kept]

    def _candidates(self, compiled: _CompiledRule, doc: _Document) -> set[Span]:
        spans: set[Span] = set()
        for term in compiled.term_set & doc.found:
            spans.update(doc.spans(term))
        for near in compiled.nears:
            spans.update(_near_spans(near, doc))
        for regex, triggers in compiled.regexes:
            spans.update(_regex_spans(regex, [t for t in triggers if t in doc.found], doc))
        return spans

    def _exempt(self, compiled: _CompiledRule, doc: _Document, span: Span) -> bool:
        start, end = span
        if compiled.exempt_set and _covered(compiled, doc, span):
            return True
        text = doc.text
        if compiled.before and compiled.before.search(text[doc.clause_start(start) : start]):
            return True
        if compiled.after and compiled.after.search(text[end : doc.clause_end(end)]):
            return True
        if compiled.sentence or compiled.sentence_all:
            sentence = text[
                doc.clause_start(start, SENTENCE_BREAKS, 80) : doc.clause_end(end, SENTENCE_BREAKS, 80)
            ]
            if any(p.search(sentence) for p in compiled.sentence):
                return True
            if compiled.sentence_all and all(p.search(sentence) for p in compiled.sentence_all):
                return True
        return compiled.rule.word_boundary and not self._word_aligned(compiled, doc, span)

    def _word_aligned(self, compiled: _CompiledRule, doc: _Document, span: Span) -> bool:
        """jieba on a small window: is the hit made of whole words, and not inside a longer word?"""
        start, end = span
        lo = max(doc.clause_start(start), start - JIEBA_WINDOW)
        hi = min(doc.clause_end(end), end + JIEBA_WINDOW)
        position = lo
        for token in self._segmenter.cut(doc.text[lo:hi]):
            token_start, token_end = position, position + len(token)
            position = token_end
            if token_end <= start or token_start >= end:
                continue
            if token_start < start or token_end > end:
                return token in compiled.own_terms
        return True

    def _absence_hits(self, compiled: _CompiledRule, doc: _Document, category: str) -> list[Hit]:
        missing = [label for label, patterns in compiled.required if not any(p.search(doc.text) for p in patterns)]
        if not missing:
            return []
        rule = compiled.rule
        explanation = f"{rule.explanation}（缺少：{'、'.join(missing)}）"
        return [
            Hit(rule.id, rule.law, rule.article, rule.article_key, rule.severity, "", 0, 0, explanation, rule.penalty, category)
        ]

    @staticmethod
    def _make_hit(rule: Rule, norm: Normalized, span: Span, category: str) -> Hit:
        start, end = norm.to_original(*span)
        return Hit(
            rule_id=rule.id,
            law=rule.law,
            article=rule.article,
            article_key=rule.article_key,
            severity=rule.severity,
            matched=norm.original[start:end],
            start=start,
            end=end,
            explanation=rule.explanation,
            penalty=rule.penalty,
            category=category,
        )


def _near_spans(near: Near, doc: _Document) -> list[Span]:
    spans: list[Span] = []
    second = frozenset(near.second)
    for first in doc.found & frozenset(near.first):
        for a_start, a_end in doc.spans(first):
            lo = a_end if near.ordered else max(0, a_start - near.within - 8)
            for b_start, b_end, term in doc.window(lo, a_end + near.within):
                if term in second:
                    span = _near_pair(near, doc, (a_start, a_end), (b_start, b_end))
                    if span is not None:
                        spans.append(span)
    return spans


def _near_pair(near: Near, doc: _Document, a: Span, b: Span) -> Span | None:
    if b[0] < a[1] and b[1] > a[0]:
        return None
    gap = b[0] - a[1] if b[0] >= a[1] else a[0] - b[1]
    if gap < 0 or gap > near.within:
        return None
    lo, hi = min(a[0], b[0]), max(a[1], b[1])
    if not near.cross_clause and doc.crosses_clause(lo, hi):
        return None
    return lo, hi


def _regex_spans(regex: re.Pattern[str], triggers: Sequence[str], doc: _Document) -> list[Span]:
    spans: list[Span] = []
    seen_windows: set[Span] = set()
    for trigger in triggers:
        for t_start, t_end in doc.spans(trigger):
            window = (doc.clause_start(t_start, SENTENCE_BREAKS, REGEX_WINDOW), doc.clause_end(t_end, SENTENCE_BREAKS, REGEX_WINDOW))
            if window in seen_windows:
                continue
            seen_windows.add(window)
            for match in regex.finditer(doc.text, *window):
                if match.end() > match.start():
                    spans.append(match.span())
    return spans


def _covered(compiled: _CompiledRule, doc: _Document, span: Span) -> bool:
    start, end = span
    for e_start, e_end, term in doc.window(max(0, end - compiled.exempt_max_len), start):
        if term in compiled.exempt_set and e_start <= start and e_end >= end:
            return True
    return False


def _maximal(spans: Iterable[Span]) -> list[Span]:
    """Merge overlapping spans of one rule into their union (全网最低 + 最低价 → 全网最低价)."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _risk(hits: Sequence[Hit]) -> float:
    remaining = 1.0
    for key in {(hit.rule_id, hit.severity) for hit in hits}:
        remaining *= 1.0 - SEVERITY_WEIGHTS.get(key[1], 0.15)
    return round(1.0 - remaining, 4)

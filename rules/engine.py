"""The rule engine: compile the rulebook once, then check texts.

Matching runs in three stages:

1. normalise the text (:mod:`rules.normalize`) and scan it once with one
   Aho–Corasick automaton holding every term of the rulebook and classifier;
2. classify the ad (:mod:`rules.classify`) and keep the rules that apply;
3. for each candidate, check proximity, triggered regexes and exemptions in a
   small window, and, for ``word_boundary`` rules, let jieba segment that window.

Speed comes from doing per-character work only in C: normalisation is
``str.lower``, a search for the few characters to fold and one regex pass (see
:mod:`rules.normalize`); the automaton is ``ahocorasick_rs`` when installed
(:class:`_Scanner`), which reports only which terms occur; positions are found
with ``str.find`` for the few terms a rule needs (:class:`_Document`).  Rules are
evaluated only when the scan found one of their anchor terms (or when they check
for a missing mandatory statement), selected with one bit mask per term; windows
around a candidate are found with small C-level regex searches; a document-wide
regex is searched only when one of the literals its matches must hold occurs; a
title that the text starts with (a crawled document does) is not scanned twice.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import cache, lru_cache, reduce
from itertools import islice
from operator import or_
from pathlib import Path
from re import _constants, _parser  # type: ignore[attr-defined]
from typing import Any

import ahocorasick
import rjieba

try:  # optional: a much faster automaton for large alphabets (see _Scanner)
    import ahocorasick_rs as _ars
except ImportError:  # pragma: no cover - depends on the environment
    _ars = None  # type: ignore[assignment]

from rules.classify import CategoryClassifier, Classification
from rules.normalize import Normalized, normalize, normalize_term
from rules.rulebook import ARTICLE_KEYS, CATEGORY_LABELS, Near, Rule, Rulebook, load_rulebook
from rules.segment import jieba_with

__all__ = ["ARTICLE_KEYS", "CATEGORY_LABELS", "CheckResult", "Hit", "RuleEngine"]

logger = logging.getLogger(__name__)

SEVERITY_WEIGHTS = {"high": 0.6, "medium": 0.35, "low": 0.15}
CLAUSE_BREAKS = frozenset("，,。！!？?；;\n\r：:、")
SENTENCE_BREAKS = frozenset("。！!？?；;\n\r")
CONTEXT_CHARS = 24
REGEX_WINDOW = 40
JIEBA_WINDOW = 6
WINDOWS_BEFORE_WHOLE_TEXT_SEARCH = 16
NEGATION_REACH = 10

Span = tuple[int, int]
VIOLATION = "violation"
MISSING_ELEMENT = "missing_element"


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
    kind: str = VIOLATION
    see_also: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckResult:
    """The outcome of :meth:`RuleEngine.check`.

    ``flagged`` is set by violations only: a ``missing_element`` finding (no approval
    number, no mandatory statement seen in the text) asks a reviewer to look at the
    whole ad, since a text alone cannot show that an element is missing from it.
    """

    flagged: bool
    categories: list[str]
    category_reasons: dict[str, str]
    hits: list[Hit]
    risk: float
    article_keys: list[str] = field(default_factory=list)
    editorial: bool = False


class _Document:
    """A normalised text and the terms found in it; the spans of a term are found on first use.

    The automaton only reports which terms occur: most of them (category keywords,
    page copy near a rule's terms) never need their positions, and building a list
    of spans for every occurrence in Python costs more than the scan itself.
    """

    def __init__(self, norm: Normalized, found: AbstractSet[str]) -> None:
        self.norm = norm
        self.text = norm.text
        self.found = found
        self._spans: dict[str, list[Span]] = {}
        self._searched: dict[re.Pattern[str], bool] = {}
        self._starts: dict[str, list[int]] = {}
        self._merged: dict[frozenset[str], tuple[list[Span], list[int]]] = {}

    def spans(self, term: str) -> list[Span]:
        """Every occurrence of ``term``, overlapping ones included, in text order (as the automaton reports them)."""
        spans = self._spans.get(term)
        if spans is None:
            spans = self._spans[term] = _find_all(self.text, term) if term in self.found else []
        return spans

    def spans_in(self, term: str, lo: int, hi: int) -> list[Span]:
        """Occurrences of ``term`` starting in ``[lo, hi]``."""
        spans = self.spans(term)
        if not spans:
            return []
        if len(spans) == 1:
            return spans if lo <= spans[0][0] <= hi else []
        starts = self._starts.get(term)
        if starts is None:
            starts = self._starts[term] = [span[0] for span in spans]
        return spans[bisect.bisect_left(starts, lo) : bisect.bisect_right(starts, hi)]

    def merged_spans(self, terms: AbstractSet[str]) -> tuple[list[Span], list[int]]:
        """Every occurrence of any of ``terms``, in start order, and their starts (memoised per set of terms)."""
        key = frozenset(terms)
        merged = self._merged.get(key)
        if merged is None:
            spans = sorted(span for term in key for span in self.spans(term))
            merged = self._merged[key] = (spans, [start for start, _end in spans])
        return merged

    def contains(self, pattern: re.Pattern[str]) -> bool:
        """Whether ``pattern`` occurs anywhere in the text (memoised: several rules share a pattern).

        A pattern whose every match holds one of a few literals is searched only when
        one of them occurs: ``str`` finds a literal far faster than ``re`` tries every position.
        """
        found = self._searched.get(pattern)
        if found is None:
            text = self.text
            literals = _required_literals(pattern)
            if literals is not None and not any(literal in text for literal in literals):
                found = False
            else:
                found = pattern.search(text) is not None
            self._searched[pattern] = found
        return found

    def clause_start(self, pos: int, breaks: frozenset[str] = CLAUSE_BREAKS, limit: int = CONTEXT_CHARS) -> int:
        """Just after the last break before ``pos``, at most ``limit`` characters back."""
        lo = max(0, pos - limit)
        match = _break_regexes(breaks)[1].match(self.text, lo, pos)
        return match.end() if match else lo

    def clause_end(self, pos: int, breaks: frozenset[str] = CLAUSE_BREAKS, limit: int = CONTEXT_CHARS) -> int:
        """The first break at or after ``pos``, at most ``limit`` characters on."""
        hi = min(len(self.text), pos + limit)
        match = _break_regexes(breaks)[0].search(self.text, pos, hi)
        return match.start() if match else hi

    def crosses_clause(self, lo: int, hi: int) -> bool:
        return _CLAUSE_BREAK.search(self.text, lo, hi) is not None


@lru_cache(maxsize=8)
def _break_regexes(breaks: frozenset[str]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(the first break, everything up to the last break) for a set of break characters."""
    chars = re.escape("".join(sorted(breaks)))
    return re.compile(f"[{chars}]"), re.compile(f"(?s).*[{chars}]")


_CLAUSE_BREAK = _break_regexes(CLAUSE_BREAKS)[0]


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
    requires: list[frozenset[str]]
    own_terms: frozenset[str] = frozenset()
    term_set: frozenset[str] = frozenset()
    exempt_set: frozenset[str] = frozenset()
    anchors: frozenset[str] = frozenset()
    index: int = -1
    near_sets: list[tuple[Near, frozenset[str], frozenset[str]]] = field(default_factory=list)
    regex_sets: list[tuple[re.Pattern[str], frozenset[str]]] = field(default_factory=list)

    @classmethod
    def build(cls, rule: Rule, index: int = -1) -> _CompiledRule:
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
            document=[_shared_regex(p) for p in ex.document],
            required=[(req.label, [_shared_regex(p) for p in req.any]) for req in rule.required],
            requires=[frozenset(_norm_all(group)) for group in rule.requires],
            own_terms=frozenset(terms) | frozenset(t for n in nears for t in (*n.first, *n.second)),
            term_set=frozenset(terms),
            exempt_set=frozenset(_norm_all(ex.terms)),
            anchors=frozenset(terms)
            | frozenset(t for n in nears for t in n.first)
            | frozenset(t for _r, triggers in regexes for t in triggers),
            index=index,
            near_sets=[(near, frozenset(near.first), frozenset(near.second)) for near in nears],
            regex_sets=[(regex, frozenset(triggers)) for regex, triggers in regexes],
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


@cache
def _shared_regex(pattern: str) -> re.Pattern[str]:
    """One compiled object per pattern, so that a document memoises a search shared by several rules."""
    return re.compile(pattern)


@cache
def _required_literals(pattern: re.Pattern[str]) -> tuple[str, ...] | None:
    """Literals one of which every match of ``pattern`` holds, or ``None`` when they cannot be told."""
    if pattern.flags & re.IGNORECASE:
        return None
    try:
        literals = _sequence_literals(_parser.parse(pattern.pattern, pattern.flags))
    except re.error:  # pragma: no cover - the pattern compiled already
        return None
    if literals is None:
        return None
    # A literal holding another one is found only where that one is: keep the shorter.
    return tuple(dict.fromkeys(a for a in literals if not any(b != a and b in a for b in literals)))


def _sequence_literals(items: Iterable[tuple[Any, Any]]) -> tuple[str, ...] | None:
    """The literal run a parsed sequence starts with (after zero-width anchors), or its first group's literals."""
    prefix: list[str] = []
    for op, value in items:
        if op is _constants.AT and not prefix:
            continue
        if op is _constants.LITERAL:
            prefix.append(chr(value))
            continue
        if prefix:
            break
        if op is _constants.BRANCH:
            return _branch_literals(value[1])
        if op is _constants.SUBPATTERN and not value[1] & re.IGNORECASE:
            return _sequence_literals(value[3])
        return None
    return ("".join(prefix),) if prefix else None


def _branch_literals(branches: Iterable[Iterable[tuple[Any, Any]]]) -> tuple[str, ...] | None:
    literals: list[str] = []
    for branch in branches:
        found = _sequence_literals(branch)
        if found is None:
            return None
        literals.extend(found)
    return tuple(literals)


def _norm_all(terms: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(normalize_term(term) for term in terms if normalize_term(term)))


def _norm_near(near: Near) -> Near:
    return near.model_copy(update={"first": _norm_all(near.first), "second": _norm_all(near.second)})


class _Segmenter:
    """jieba (:mod:`rules.segment`) with the rulebook terms added to its dictionary, loaded on first use.

    Many checks (a short ``adwatch rules check --text``) never need a word boundary settled.
    """

    def __init__(self, words: Iterable[str]) -> None:
        self._words = sorted(words)
        self._tokenizer: rjieba.Jieba | None = None
        self.cut = lru_cache(maxsize=8192)(self._cut)

    @property
    def loaded(self) -> bool:
        return self._tokenizer is not None

    def load(self) -> rjieba.Jieba:
        if self._tokenizer is None:
            self._tokenizer = jieba_with(self._words)
        return self._tokenizer

    def _cut(self, window: str) -> tuple[str, ...]:
        return tuple(self.load().cut(window, False))


class _Scanner:
    """One Aho–Corasick automaton over every term, reporting all (overlapping) occurrences.

    It uses ``ahocorasick_rs`` (Rust) when it is installed and pyahocorasick
    otherwise; both report the same occurrences.  On this rulebook the automaton's
    root has several hundred children, which pyahocorasick searches one by one for
    every character, so ``ahocorasick_rs`` scans Chinese text several times faster.
    """

    def __init__(self, terms: Iterable[str]) -> None:
        self.terms = sorted(term for term in terms if term)
        if _ars is not None:
            # Stored patterns: matches come back as these very ``str`` objects, with their
            # hashes cached, instead of a new string for every match.
            self._ac = _ars.AhoCorasick(
                self.terms,
                matchkind=_ars.MatchKind.Standard,
                implementation=_ars.Implementation.DFA,
                store_patterns=True,
            )
            self._automaton = None
        else:
            self._automaton = ahocorasick.Automaton()
            for index, term in enumerate(self.terms):
                self._automaton.add_word(term, (index, len(term)))
            self._automaton.make_automaton()

    def scan(self, text: str) -> dict[str, list[Span]]:
        """Occurrences by term, each list in text order."""
        found: dict[str, list[Span]] = defaultdict(list)  # read with .get() and ``in`` only
        terms = self.terms
        if self._automaton is None:
            for index, start, end in self._ac.find_matches_as_indexes(text, overlapping=True):
                found[terms[index]].append((start, end))
        else:
            for last, (index, length) in self._automaton.iter(text):
                found[terms[index]].append((last - length + 1, last + 1))
        return found

    def found(self, text: str) -> set[str]:
        """The terms occurring in ``text``, without their positions (see :class:`_Document`)."""
        if self._automaton is None:
            return set(self._ac.find_matches_as_strings(text, overlapping=True))
        terms = self.terms
        return {terms[index] for _last, (index, _length) in self._automaton.iter(text)}


class RuleEngine:
    """Compiles a rulebook once and checks ad texts against it."""

    def __init__(self, rulebook: Rulebook) -> None:
        self.rulebook = rulebook
        self.rulebook_version = rulebook.version
        self.rules: list[Rule] = [rule for rule in rulebook.rules if rule.kind != "price_history"]
        self.classifier = CategoryClassifier(rulebook.categories)
        self._compiled = [_CompiledRule.build(rule, index) for index, rule in enumerate(self.rules)]
        self._editorial_cues = frozenset(_norm_all(rulebook.editorial_cues))
        self._commercial_cues = frozenset(_norm_all(rulebook.commercial_cues))
        terms = set(self.classifier.terms) | self._editorial_cues | self._commercial_cues
        for compiled in self._compiled:
            terms.update(compiled.automaton_terms())
        self.terms: frozenset[str] = frozenset(term for term in terms if term)
        self._scanner = _Scanner(self.terms)
        self._segmenter = _Segmenter(terms)
        self._applicable_cache: dict[tuple[str, ...], tuple[dict[int, str], int]] = {}
        self._absence_mask = sum(1 << c.index for c in self._compiled if c.rule.kind == "absence")
        masks: defaultdict[str, int] = defaultdict(int)
        for index, compiled in enumerate(self._compiled):
            for term in compiled.anchors:
                masks[term] |= 1 << index
        self._anchor_masks = dict(masks)
        self._negation = _negation_regex(rulebook.negation_cues)
        self._article_order = {key: index for index, key in enumerate(rulebook.articles)}
        self._notes = {key: article.note for key, article in rulebook.articles.items()}

    def warm_up(self) -> RuleEngine:
        """Load now what the engine otherwise loads on first use (jieba's dictionary, about a second)."""
        self._segmenter.load()
        return self

    @property
    def warm(self) -> bool:
        """Whether :meth:`warm_up` has run, or a check has loaded jieba's dictionary already."""
        return self._segmenter.loaded

    @classmethod
    def from_directory(cls, directory: Path | str | None = None) -> RuleEngine:
        """Build an engine from a rulebook folder (default: ``rules/rulebook``)."""
        return cls(load_rulebook(directory))

    def prepare(self, text: str) -> tuple[Normalized, dict[str, list[Span]]]:
        """The normalised text and its term occurrences."""
        norm = normalize(text)
        return norm, self._scanner.scan(norm.text)

    def classify(self, text: str, title: str = "", category_hints: Sequence[str] = ()) -> Classification:
        """The categories of one ad text, each with its reason, without checking any rule."""
        return self._read(text, title, category_hints)[1]

    def check(self, text: str, title: str = "", category_hints: Sequence[str] = ()) -> CheckResult:
        """Check one ad text. Offsets in hits index ``text``; ``title`` only helps classification."""
        doc, classification = self._read(text, title, category_hints)
        categories, reasons = list(classification.categories), dict(classification.reasons)
        if self.editorial(doc.found):
            return CheckResult(False, categories, reasons, [], 0.0, [], editorial=True)
        applicable, applicable_mask = self._applicable(classification.categories)
        hits: list[Hit] = []
        for index in _bits(self._candidate_mask(doc.found) & applicable_mask):
            compiled = self._compiled[index]
            if not (compiled.requires or compiled.document) or self._requirements_met(compiled, doc, category_hints):
                hits.extend(self._rule_hits(compiled, doc, applicable[index]))
        hits.sort(key=lambda hit: (hit.start, hit.end, hit.rule_id))
        violations = [hit for hit in hits if hit.kind == VIOLATION]
        return CheckResult(
            flagged=bool(violations),
            categories=categories,
            category_reasons=reasons,
            hits=hits,
            risk=_risk(violations),
            article_keys=sorted({hit.article_key for hit in violations}, key=self._article_order.__getitem__),
        )

    def editorial(self, found: AbstractSet[str]) -> bool:
        """Whether a text reports, warns or explains rather than sells (news, a consumer warning, science).

        It holds a cue of the ``editorial_cues`` lexicon and none of ``commercial_cues``:
        the claims in such a text are quoted, warned against or explained, not made.
        """
        return not self._editorial_cues.isdisjoint(found) and self._commercial_cues.isdisjoint(found)

    def _read(self, text: str, title: str, category_hints: Sequence[str]) -> tuple[_Document, Classification]:
        """Normalise, scan and classify: all that a check does before it evaluates rules."""
        norm = normalize(text)
        doc = _Document(norm, self._scanner.found(norm.text))
        title_terms = self._title_terms(title, text, doc)
        return doc, self.classifier.classify(doc.text, doc.found, title_terms, category_hints)

    def _title_terms(self, title: str, text: str, doc: _Document) -> AbstractSet[str]:
        """The terms of ``title``, read off the text's own scan when the text starts with it (as crawled pages do).

        A string that the normalised text starts with holds exactly the found terms it contains.
        """
        if not title:
            return frozenset()
        if not doc.norm.edits and text.startswith(title):
            head = doc.text[: len(title)]
        else:
            head = normalize(title).text
            if not doc.text.startswith(head):
                return self._scanner.found(head)
        return set(filter(head.__contains__, doc.found))

    def _candidate_mask(self, found: AbstractSet[str]) -> int:
        """The rules (bit ``i`` for rule ``i``) an occurring term anchors, plus every absence rule."""
        masks = self._anchor_masks
        return reduce(or_, map(masks.__getitem__, masks.keys() & found), self._absence_mask)

    def _applicable(self, categories: tuple[str, ...]) -> tuple[dict[int, str], int]:
        """Rule index → the category under which it applies to an ad of these categories, and those rules' bits.

        Memoised: ads fall into few category combinations.
        """
        cached = self._applicable_cache.get(categories)
        if cached is None:
            applicable: dict[int, str] = {}
            for compiled in self._compiled:
                category = compiled.rule.applies_to(categories)
                if category is not None:
                    applicable[compiled.index] = category
            cached = self._applicable_cache[categories] = (applicable, sum(1 << index for index in applicable))
        return cached

    @staticmethod
    def _requirements_met(compiled: _CompiledRule, doc: _Document, hints: Sequence[str]) -> bool:
        """Required co-occurring terms are present and no document-wide exemption applies.

        Document exemptions also look at the caller's hints, which carry page-level
        context such as an “广告” mark shown outside the extracted text.
        """
        found = doc.found
        if any(group.isdisjoint(found) for group in compiled.requires):
            return False
        return not any(doc.contains(pattern) or any(map(pattern.search, hints)) for pattern in compiled.document)

    def _rule_hits(self, compiled: _CompiledRule, doc: _Document, category: str) -> list[Hit]:
        if compiled.rule.kind == "absence":
            return self._absence_hits(compiled, doc, category)
        spans = _maximal(self._candidates(compiled, doc))
        exempt_terms = compiled.exempt_set & doc.found
        # Exemption checks have no side effects, so stopping at ``max_hits`` kept spans changes nothing.
        unexempt = (span for span in spans if not self._exempt(compiled, doc, span, exempt_terms))
        kept = islice(unexempt, compiled.rule.max_hits)
        note = self._notes[compiled.rule.article_key]
        return [self._make_hit(compiled.rule, doc.norm, span, category, note) for span in kept]

    def _candidates(self, compiled: _CompiledRule, doc: _Document) -> set[Span]:
        spans: set[Span] = set()
        for term in compiled.term_set & doc.found:
            spans.update(doc.spans(term))
        for near, first, second in compiled.near_sets:
            spans.update(_near_spans(near, first, second, doc))
        for regex, triggers in compiled.regex_sets:
            spans.update(_regex_spans(regex, triggers & doc.found, doc))
        return spans

    def _exempt(self, compiled: _CompiledRule, doc: _Document, span: Span, exempt_terms: AbstractSet[str]) -> bool:
        """Whether an exemption applies to ``span``; ``exempt_terms`` are the rule's exempt terms found in ``doc``.

        The checks have no side effects, so their order only matters for speed: the
        anchored ``after`` match comes before the ``before`` search, which tries every
        position of the clause.
        """
        start, end = span
        if exempt_terms and _covered(exempt_terms, doc, span):
            return True
        text = doc.text
        if compiled.after and compiled.after.search(text[end : doc.clause_end(end)]):
            return True
        if compiled.before and compiled.before.search(text[doc.clause_start(start) : start]):
            return True
        if compiled.sentence or compiled.sentence_all:
            sentence = text[doc.clause_start(start, SENTENCE_BREAKS, 80) : doc.clause_end(end, SENTENCE_BREAKS, 80)]
            if any(p.search(sentence) for p in compiled.sentence):
                return True
            if compiled.sentence_all and all(p.search(sentence) for p in compiled.sentence_all):
                return True
        if compiled.rule.negatable and self._negated(doc, start, end):
            return True
        return compiled.rule.word_boundary and not self._word_aligned(compiled, doc, span)

    def _negated(self, doc: _Document, start: int, end: int) -> bool:
        """Whether a negation or disclaimer cue governs the candidate ``[start, end)`` (不作升值承诺, 不是最便宜的).

        One scope model for every rule: a cue of the ``negation_cues`` lexicon in the same
        clause, at most ``NEGATION_REACH`` characters before the candidate, or inside a
        candidate made of two terms (体脂率未必下降).  No rule term holds a cue past its
        first character (a test checks), so a cue inside a candidate is never part of a term.
        """
        if self._negation is None:
            return False
        before = self._negation[0].search(doc.text, doc.clause_start(start), start) is not None
        return before or self._negation[1].search(doc.text, start + 1, end) is not None

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
        missing = [label for label, patterns in compiled.required if not any(map(doc.contains, patterns))]
        if not missing:
            return []
        rule = compiled.rule
        explanation = f"{rule.explanation}（缺少：{'、'.join(missing)}）{self._notes[rule.article_key]}"
        return [
            Hit(
                rule.id,
                rule.law,
                rule.cited_article,
                rule.article_key,
                rule.severity,
                "",
                0,
                0,
                explanation,
                rule.penalty,
                category,
                MISSING_ELEMENT,
                tuple(rule.see_also),
            )
        ]

    @staticmethod
    def _make_hit(rule: Rule, norm: Normalized, span: Span, category: str, note: str) -> Hit:
        start, end = norm.to_original(*span)
        return Hit(
            rule_id=rule.id,
            law=rule.law,
            article=rule.cited_article,
            article_key=rule.article_key,
            severity=rule.severity,
            matched=norm.original[start:end],
            start=start,
            end=end,
            explanation=rule.explanation + note,
            penalty=rule.penalty,
            category=category,
            see_also=tuple(rule.see_also),
        )


def _negation_regex(cues: Sequence[str]) -> tuple[re.Pattern[str], re.Pattern[str]] | None:
    """(a cue, up to ``NEGATION_REACH`` characters of the same clause, then the search's end; a cue anywhere).

    ``不得不`` affirms; a cue preceded or followed by 不 is no cue.
    """
    terms = sorted({normalize_term(cue) for cue in cues if normalize_term(cue)}, key=len, reverse=True)
    if not terms:
        return None
    breaks = re.escape("".join(sorted(CLAUSE_BREAKS)))
    cue = f"(?<!不)(?:{'|'.join(map(re.escape, terms))})(?!不)"
    return re.compile(f"{cue}[^{breaks}]{{0,{NEGATION_REACH}}}$"), re.compile(cue)


def _find_all(text: str, term: str) -> list[Span]:
    """Every occurrence of ``term`` in ``text``, overlapping ones included."""
    spans: list[Span] = []
    size = len(term)
    start = text.find(term)
    while start >= 0:
        spans.append((start, start + size))
        start = text.find(term, start + 1)
    return spans


def _near_spans(near: Near, first: frozenset[str], second: frozenset[str], doc: _Document) -> list[Span]:
    seconds = doc.found & second
    if not seconds:
        return []
    # One list of every second-term occurrence: a page with hundreds of first terms
    # and a dozen second terms needs two bisections per first term, not one per pair.
    b_spans, b_starts = doc.merged_spans(seconds)
    spans: list[Span] = []
    for term_a in doc.found & first:
        for a in doc.spans(term_a):
            lo = a[1] if near.ordered else max(0, a[0] - near.within - 8)
            for b in b_spans[bisect.bisect_left(b_starts, lo) : bisect.bisect_right(b_starts, a[1] + near.within)]:
                span = _near_pair(near, doc, a, b)
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


def _regex_spans(regex: re.Pattern[str], triggers: Iterable[str], doc: _Document) -> list[Span]:
    """Matches of ``regex`` in the sentence windows around each trigger occurrence.

    A page can hold a trigger thousands of times (a saved Tmall page holds 11,554
    ``"``).  Past a few occurrences, one search of the whole text comes first: a
    pattern without look-arounds, anchors or back-references that matches inside a
    window also matches the whole text, so no match there means none in any window.
    """
    triggers = list(triggers)
    if (
        sum(len(doc.spans(trigger)) for trigger in triggers) > WINDOWS_BEFORE_WHOLE_TEXT_SEARCH
        and _context_free(regex)
        and not doc.contains(regex)
    ):
        return []
    spans: list[Span] = []
    seen_windows: set[Span] = set()
    for trigger in triggers:
        for t_start, t_end in doc.spans(trigger):
            window = (
                doc.clause_start(t_start, SENTENCE_BREAKS, REGEX_WINDOW),
                doc.clause_end(t_end, SENTENCE_BREAKS, REGEX_WINDOW),
            )
            if window in seen_windows:
                continue
            seen_windows.add(window)
            for match in regex.finditer(doc.text, *window):
                if match.end() > match.start():
                    spans.append(match.span())
    return spans


@cache
def _context_free(pattern: re.Pattern[str]) -> bool:
    """Whether a match of ``pattern`` depends only on the matched text.

    Only plain characters, classes, alternations, groups and backtracking repeats
    qualify: look-arounds, anchors and back-references see past the match, and atomic
    groups or possessive repeats can fail on a whole text where a window matched.
    """
    return _plain_ops(_parser.parse(pattern.pattern, pattern.flags))


def _plain_ops(items: Iterable[tuple[Any, Any]]) -> bool:
    for op, value in items:
        if op is _constants.BRANCH:
            if not all(_plain_ops(branch) for branch in value[1]):
                return False
        elif op is _constants.SUBPATTERN:
            if not _plain_ops(value[3]):
                return False
        elif op is _constants.MAX_REPEAT or op is _constants.MIN_REPEAT:
            if not _plain_ops(value[2]):
                return False
        elif op not in _CHARACTER_OPS:
            return False
    return True


_CHARACTER_OPS = frozenset({_constants.LITERAL, _constants.NOT_LITERAL, _constants.IN, _constants.ANY})


def _covered(exempt_terms: Iterable[str], doc: _Document, span: Span) -> bool:
    """Whether an exempt term occurrence covers the whole span (顾客第一 covers 第一).

    An occurrence of ``term`` covers ``[start, end)`` exactly when it starts in
    ``[end - len(term), start]``: a bisection, however many times the page holds the term.
    """
    start, end = span
    return any(doc.spans_in(term, end - len(term), start) for term in exempt_terms)


def _maximal(spans: Iterable[Span]) -> list[Span]:
    """Merge overlapping spans of one rule into their union (全网最低 + 最低价 → 全网最低价)."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _bits(mask: int) -> Iterator[int]:
    """The positions of the set bits of ``mask``, lowest first (rulebook order)."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def _risk(hits: Sequence[Hit]) -> float:
    remaining = 1.0
    for key in {(hit.rule_id, hit.severity) for hit in hits}:
        remaining *= 1.0 - SEVERITY_WEIGHTS.get(key[1], 0.15)
    return round(1.0 - remaining, 4)

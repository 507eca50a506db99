"""Precision, recall and article-level accuracy of the engine on a labelled set.

Each item carries ``violations``: the set of article keys (``广告法第十七条``) a
reviewer or a regulator cites (empty for a compliant ad).  Item-level precision
and recall treat "flagged" as the prediction.  Article-level accuracy is the share
of flagged violations where at least one hit cites an article the label names
(at 条 level); ``article_exact`` is the stricter share of items whose keys match
exactly, and article precision and recall compare the sets of keys.

Three labelled sets ship with the engine (:data:`LABELLED_SETS`): the self-written
devset, whose labels were written beside the rules and so measure agreement with
themselves, and the two parts of the real-case corpus (``rules/realcases``): ad
texts quoted from published enforcement cases and real compliant texts, split by
source into a dev part for tuning and a frozen test part that is only scored.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rules.engine import VIOLATION, RuleEngine
from rules.jsonl import InputLineError, read_objects

DEFAULT_DEVSET_DIR = Path(__file__).resolve().parent / "devset"
REALCASES_DIR = Path(__file__).resolve().parent / "realcases"


@dataclass(frozen=True)
class LabelledSet:
    """A labelled set shipped with the engine and how it is scored by default."""

    name: str
    label: str
    path: Path
    hints: bool


LABELLED_SETS: tuple[LabelledSet, ...] = (
    LabelledSet("devset", "自编开发集 self-written devset", DEFAULT_DEVSET_DIR, True),
    LabelledSet("real-dev", "真实案例开发集 real cases, dev part", REALCASES_DIR / "dev.jsonl", False),
    LabelledSet("real-test", "真实案例测试集（冻结）real cases, frozen test part", REALCASES_DIR / "test.jsonl", False),
)


@dataclass(frozen=True)
class LabelledItem:
    """One item of a labelled set."""

    id: str
    text: str
    title: str
    category: str
    violations: frozenset[str]
    note: str = ""
    violating: bool | None = None

    @property
    def is_violation(self) -> bool:
        """A labelled violation; a real case may name no article, so its keys alone cannot tell."""
        return bool(self.violations) if self.violating is None else self.violating


@dataclass
class Counts:
    """Confusion counts at item level and at article level."""

    items: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    exact: int = 0
    cited: int = 0
    citable: int = 0
    key_tp: int = 0
    key_fp: int = 0
    key_fn: int = 0

    def add(
        self,
        expected: frozenset[str],
        predicted: frozenset[str],
        violating: bool | None = None,
        cited: frozenset[str] | None = None,
    ) -> None:
        """Count one item; ``cited`` adds the articles the hits also engage (``see_also``) to ``predicted``."""
        self.items += 1
        flagged = bool(predicted)
        violating = bool(expected) if violating is None else violating
        self.tp += flagged and violating
        self.fp += flagged and not violating
        self.fn += violating and not flagged
        self.tn += not flagged and not violating
        self.exact += expected == predicted
        if flagged and expected:
            self.citable += 1
            self.cited += not expected.isdisjoint(predicted if cited is None else cited)
        self.key_tp += len(expected & predicted)
        self.key_fp += len(predicted - expected)
        self.key_fn += len(expected - predicted)

    def metrics(self) -> dict[str, float | int]:
        return {
            "items": self.items,
            "precision": _ratio(self.tp, self.tp + self.fp),
            "recall": _ratio(self.tp, self.tp + self.fn),
            "article_accuracy": _ratio(self.cited, self.citable),
            "article_exact": _ratio(self.exact, self.items),
            "article_precision": _ratio(self.key_tp, self.key_tp + self.key_fp),
            "article_recall": _ratio(self.key_tp, self.key_tp + self.key_fn),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
        }


@dataclass
class Report:
    """Evaluation results overall and per category, plus the items that disagreed."""

    overall: Counts = field(default_factory=Counts)
    by_category: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    mismatches: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "overall": self.overall.metrics(),
            "by_category": {key: counts.metrics() for key, counts in sorted(self.by_category.items())},
            "mismatches": self.mismatches,
        }


def _ratio(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 4) if denominator else 1.0


def read_items(path: Path) -> Iterator[LabelledItem]:
    """Read a JSONL labelled set (one file or every ``*.jsonl`` in a folder).

    A line that cannot be read stops the reading with an error naming the file, the line and what is wrong.
    """
    paths = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    for file in paths:
        with file.open("rb") as handle:
            for number, _raw, data in read_objects(handle):
                try:
                    if isinstance(data, InputLineError):
                        raise data
                    yield _parse_item(data)
                except InputLineError as exc:
                    raise InputLineError(f"{file.name}:{number}: {exc}") from exc


def _parse_item(data: dict[str, Any]) -> LabelledItem:
    for name in ("id", "text"):
        if name not in data:
            raise InputLineError(f"missing field {name!r}")
    if not isinstance(data["text"], str):
        raise InputLineError("field 'text' must be a string")
    for name in ("title", "category", "note"):
        if data.get(name) is not None and not isinstance(data[name], str):
            raise InputLineError(f"field {name!r} must be a string")
    violations = data.get("violations") or []
    if not isinstance(violations, list) or not all(isinstance(key, str) for key in violations):
        raise InputLineError("field 'violations' must be a list of article keys")
    label = data.get("label")
    if label is not None and label not in ("violation", "compliant"):
        raise InputLineError("field 'label' must be 'violation' or 'compliant'")
    return LabelledItem(
        id=str(data["id"]),
        text=data["text"],
        title=data.get("title") or "",
        category=data.get("category") or "general",
        violations=frozenset(violations),
        note=data.get("note") or "",
        violating=None if label is None else label == "violation",
    )


def evaluate(engine: RuleEngine, items: Iterable[LabelledItem], use_hints: bool = True) -> Report:
    """Run the engine over ``items`` and compare article keys with the labels."""
    report = Report()
    for item in items:
        hints: Sequence[str] = (item.category,) if use_hints else ()
        result = engine.check(item.text, title=item.title, category_hints=hints)
        predicted = frozenset(result.article_keys)
        cited = predicted | {key for hit in result.hits if hit.kind == VIOLATION for key in hit.see_also}
        report.overall.add(item.violations, predicted, item.is_violation, cited)
        report.by_category[item.category].add(item.violations, predicted, item.is_violation, cited)
        if predicted != item.violations or bool(predicted) != item.is_violation:
            report.mismatches.append(_mismatch(item, predicted, result.hits))
    return report


def _mismatch(item: LabelledItem, predicted: frozenset[str], hits: Sequence[Any]) -> dict[str, Any]:
    return {
        "id": item.id,
        "expected": sorted(item.violations),
        "predicted": sorted(predicted),
        "hits": [f"{hit.rule_id}:{hit.matched}" for hit in hits],
        "text": item.text,
    }

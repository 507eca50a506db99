"""Quality floors on the labelled development set in rules/devset/."""

from __future__ import annotations

import pytest

from rules.engine import ARTICLE_KEYS, RuleEngine
from rules.evaluate import DEFAULT_DEVSET_DIR, Report, evaluate, read_items


@pytest.fixture(scope="module")
def report(engine: RuleEngine) -> Report:
    return evaluate(engine, read_items(DEFAULT_DEVSET_DIR))


def test_devset_size_and_balance() -> None:
    items = list(read_items(DEFAULT_DEVSET_DIR))
    assert len(items) >= 400
    assert sum(1 for item in items if not item.violations) / len(items) >= 0.40
    assert len({item.id for item in items}) == len(items)
    assert all(key in ARTICLE_KEYS for item in items for key in item.violations)


@pytest.mark.parametrize(
    ("metric", "floor"),
    [("precision", 0.95), ("recall", 0.95), ("article_accuracy", 0.90)],
    ids=["precision", "recall", "article-accuracy"],
)
def test_devset_floors(report: Report, metric: str, floor: float) -> None:
    value = report.overall.metrics()[metric]
    assert value >= floor, report.mismatches[:10]

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


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (b'{"id": "a", "text": "\xff"}\n', r"set\.jsonl:1: not UTF-8: byte 0xff at byte 22"),
        (b'\n{"id": "a", "text": "x"\n', r"set\.jsonl:2: invalid JSON: Expecting ',' delimiter \(column 24\)"),
        (b'{"id": "a", "text": 5}\n', r"set\.jsonl:1: field 'text' must be a string"),
        (b'{"id": "a", "text": null}\n', r"set\.jsonl:1: field 'text' must be a string"),
        (b'{"text": "x"}\n', r"set\.jsonl:1: missing field 'id'"),
        (b'{"id": "a", "text": "x", "violations": "x"}\n', r"set\.jsonl:1: field 'violations' must be a list"),
    ],
    ids=["not-utf8", "broken-json", "text-not-a-string", "text-null", "no-id", "violations-not-a-list"],
)
def test_a_bad_labelled_line_is_named_by_file_and_line(tmp_path, lines: bytes, message: str) -> None:
    path = tmp_path / "set.jsonl"
    path.write_bytes(lines)
    with pytest.raises(ValueError, match=message):
        list(read_items(path))


def test_a_labelled_set_may_start_with_a_byte_order_mark(tmp_path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"id": "a", "text": "x"}\n')
    assert [item.id for item in read_items(path)] == ["a"]

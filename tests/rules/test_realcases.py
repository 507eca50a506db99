"""The real-case corpus (rules/realcases): provenance, a split by source, and a test part frozen before tuning (#13)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from rules.evaluate import LABELLED_SETS, REALCASES_DIR, read_items
from tests.conftest import unavailable

# The digest of test.jsonl as frozen in its own commit, before the engine was changed against the dev part.
FROZEN_TEST_SHA256 = "b6dafd902ad4e563c92f8d757139f9bcd6703f31235d5d527ea929493ce036a6"
RESERVED_SOURCES = Path(__file__).resolve().parents[2].parent / "shared" / "RESERVED-SOURCES.md"


def _lines(name: str) -> list[dict]:
    return [json.loads(line) for line in (REALCASES_DIR / name).read_text(encoding="utf-8").splitlines() if line]


def test_the_test_part_is_frozen() -> None:
    digest = hashlib.sha256((REALCASES_DIR / "test.jsonl").read_bytes()).hexdigest()
    assert digest == FROZEN_TEST_SHA256, "test.jsonl changed after it was frozen: add new lines to the dev part only"


def test_split_by_source_no_batch_or_text_in_both_parts() -> None:
    dev, test = _lines("dev.jsonl"), _lines("test.jsonl")
    assert {i["batch"] for i in dev}.isdisjoint(i["batch"] for i in test)
    assert {i["id"] for i in dev}.isdisjoint(i["id"] for i in test)
    assert len(test) / (len(dev) + len(test)) >= 0.30


def test_sizes_and_provenance() -> None:
    items = _lines("dev.jsonl") + _lines("test.jsonl")
    violations = [i for i in items if i["label"] == "violation"]
    compliant = [i for i in items if i["label"] == "compliant"]
    assert len(violations) >= 380 and len(compliant) >= 250
    assert all(i["source"]["url"].startswith("http") for i in items)
    assert len({i["batch"] for i in violations}) >= 250
    assert all(i["violations"] == [] for i in compliant)


def test_articles_are_spelt_at_article_level() -> None:
    keys = {key for i in _lines("dev.jsonl") + _lines("test.jsonl") for key in i["violations"]}
    assert all(re.fullmatch(r"[^第]+第[一二三四五六七八九十百零]+条", key) for key in keys), keys


def test_no_line_comes_from_a_reserved_source() -> None:
    if not RESERVED_SOURCES.exists():
        unavailable("../shared/RESERVED-SOURCES.md is not beside the project")
    reserved = set(re.findall(r"https?://\S+", RESERVED_SOURCES.read_text(encoding="utf-8")))
    used = {i["source"]["url"] for i in _lines("dev.jsonl") + _lines("test.jsonl")}
    assert not reserved & used


def test_the_shipped_sets_read_as_labelled_items() -> None:
    for labelled in LABELLED_SETS:
        items = list(read_items(labelled.path))
        assert items and all(item.text for item in items)
        if labelled.name != "devset":
            assert any(item.is_violation and not item.violations for item in items), "real cases may name no article"

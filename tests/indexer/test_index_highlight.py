"""Highlight fragments with safe markers, as every backend builds them (in Python, from the text)."""

from __future__ import annotations

from indexer.highlight import MARK_END, MARK_START, mark_fragments, query_words, strip_marks


def shown(fragments: list[str]) -> list[str]:
    return [f.replace(MARK_START, "[").replace(MARK_END, "]") for f in fragments]


def test_each_occurrence_is_marked_and_html_in_the_text_stays_text() -> None:
    text = "<em>降糖</em>神药\n本品根治糖尿病，有效率98%"
    assert shown(mark_fragments(text, ["糖尿病", "有效率"])) == ["<em>降糖</em>神药\n本品根治[糖尿病]，[有效率]98%"]
    assert strip_marks(mark_fragments(text, ["糖尿病"])[0]) == text


def test_overlapping_and_touching_occurrences_get_one_mark() -> None:
    assert shown(mark_fragments("治疗糖尿病", ["糖尿", "糖尿病", "治疗"])) == ["[治疗糖尿病]"]
    assert shown(mark_fragments("aaaa", ["aa"])) == ["[aaaa]"]


def test_ascii_is_matched_without_regard_to_case() -> None:
    assert shown(mark_fragments("纯棉T恤 Cotton", ["t恤", "COTTON"])) == ["纯棉[T恤] [Cotton]"]


def test_fragments_are_about_size_long_never_cut_a_word_and_keep_the_richest() -> None:
    text = "甲" * 100 + "糖尿病" + "乙" * 100 + "糖尿病" + "丙" * 10 + "治愈率" + "丁" * 100 + "糖尿病" + "戊" * 100
    fragments = mark_fragments(text, ["糖尿病", "治愈率"], size=60, limit=2)
    assert len(fragments) == 2
    assert all(len(strip_marks(f)) <= 60 and strip_marks(f) in text for f in fragments)
    assert f"{MARK_START}治愈率{MARK_END}" in fragments[1] and not any("戊" in f for f in fragments)
    assert len(mark_fragments(text, ["糖尿病", "治愈率"], size=60)) == 3
    assert shown(mark_fragments("本品根治糖尿病", ["糖尿病"], size=2)) == ["[糖尿病]"]


def test_nothing_to_mark_gives_no_fragment() -> None:
    assert mark_fragments("本品根治糖尿病", []) == []
    assert mark_fragments("本品根治糖尿病", ["血压"]) == []
    assert mark_fragments("", ["糖尿病"]) == []
    assert mark_fragments("本品根治糖尿病", ["糖尿病"], limit=0) == []


def test_markers_in_the_crawled_text_cannot_fake_a_mark() -> None:
    [fragment] = mark_fragments(f"{MARK_START}假的{MARK_END}糖尿病{MARK_START}", ["糖尿病"])
    assert fragment.count(MARK_START) == fragment.count(MARK_END) == 1
    assert fragment == f"\ufffd假的\ufffd{MARK_START}糖尿病{MARK_END}\ufffd"


def test_query_words_follow_the_query_language() -> None:
    assert query_words('"有效率98%"') == ["有效率98%"]
    assert query_words("糖尿病 治愈率") == ["糖尿病", "治愈率"]
    assert query_words("糖尿病 OR 治癒 -根治 NOT 特效") == ["糖尿病", "治愈"]
    assert query_words("！！") == []


def test_traditional_text_is_marked_for_a_simplified_term_and_the_other_way_round() -> None:
    assert shown(mark_fragments("本院治癒率高，ＶＩＰ專線", ["治愈", "vip专线"])) == ["本院[治癒]率高，[ＶＩＰ專線]"]
    assert shown(mark_fragments("治愈率", ["治癒"])) == ["[治愈]率"]

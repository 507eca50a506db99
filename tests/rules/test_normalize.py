"""Normalisation against evasion, and the offset map back to the original text."""

from __future__ import annotations

import pytest

from rules.normalize import normalize

CASES = [
    ("fullwidth", "ＡＢＣ１２３", "abc123"),
    ("traditional", "根治療效國家級", "根治疗效国家级"),
    ("hyphen", "根-治", "根治"),
    ("space", "根 治", "根治"),
    ("star", "根*治", "根治"),
    ("zero-width", "最\u200b好", "最好"),
    ("emoji", "最🔥好", "最好"),
    ("pinyin-zui", "zui好", "最好"),
    ("homophone-zui", "醉好吃", "最好吃"),
    ("drunk-is-not-best", "喝醉好难受", "喝醉好难受"),
    ("di-yi", "第yi品牌", "第一品牌"),
    ("no-1", "NO.1品牌", "第一品牌"),
    ("top-1", "TOP1", "第一"),
    ("top-10-untouched", "TOP10", "top10"),
    ("enclosed-digit", "第①名", "第一名"),
    ("tenth-untouched", "第10名", "第10名"),
    ("wei-yi", "唯yi", "唯一"),
    ("bao-ben", "保ben", "保本"),
    ("decimal-kept", "有效率98.5%", "有效率98.5%"),
    ("line-break-kept", "最\n好", "最\n好"),
    ("upper-latin", "OTC 非处方药", "otc 非处方药"),
    ("clean-text-untouched", "规格：50ml，保质期三年", "规格：50ml，保质期三年"),
    ("lone-surrogate-replaced", "根\ud851治", "根\ufffd治"),
]


@pytest.mark.parametrize(("raw", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw).text == expected


OFFSETS = [
    ("deleted-separator", "本品根-治糖尿病", "根治", "根-治"),
    ("replaced-pinyin", "这是zui好的茶", "最好", "zui好"),
    ("after-edits", "根 治，最 好的NO.1", "第一", "NO.1"),
    ("no-edits", "全网最低价", "最低价", "最低价"),
]


@pytest.mark.parametrize(("raw", "norm_term", "original"), [c[1:] for c in OFFSETS], ids=[c[0] for c in OFFSETS])
def test_offsets_map_back(raw: str, norm_term: str, original: str) -> None:
    norm = normalize(raw)
    start = norm.text.index(norm_term)
    orig_start, orig_end = norm.to_original(start, start + len(norm_term))
    assert raw[orig_start:orig_end] == original


def test_fold_finds_every_folding_key() -> None:
    """Folding agrees with the folding table, extension-B traditional characters included."""
    from rules.normalize import fold, fold_keys

    keys = fold_keys()
    astral = [key for key in keys if ord(key) > 0xFFFF]
    assert astral and all(fold(f"正常文本{key}正常") != f"正常文本{key}正常" for key in keys)
    clean = "全网最低价，下单立减 2025-03-05 abc 🔥 \U00020000"
    assert fold(clean) == clean


def test_fold_looks_up_only_folding_characters() -> None:
    """Folding a few characters of a long page equals the table applied to every character."""
    from rules.normalize import char_table, fold, fold_keys

    astral_key = next(key for key in fold_keys() if ord(key) > 0xFFFF)
    page = "天猫tmall.com 購物車 ５０％ \U000f0148 🔥 \U00020000 " * 200 + astral_key
    assert fold(page) == page.translate(char_table())
    assert fold("全网最低价") == "全网最低价"

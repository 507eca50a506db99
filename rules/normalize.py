"""Evasion-resistant text normalisation with an offset map back to the original.

The pipeline is one ``str.translate`` pass (full-width, case, enclosed digits,
traditional to simplified, all one character to one character) followed by a
single regex pass that deletes masking separators inside CJK words and rewrites
pinyin, homophone and "NO.1" style substitutions of key terms.  Only the regex
pass changes lengths, and it records every edit so that a span found in the
normalised text maps back to the original text.
"""

from __future__ import annotations

import bisect
import os
import re
from dataclasses import dataclass
from functools import lru_cache

import opencc

CJK = "\u3400-\u4dbf\u4e00-\u9fff"

_ENCLOSED_DIGIT_RANGES = (
    (0x2460, 1, 20),  # ① .. ⑳
    (0x2474, 1, 20),  # ⑴ .. ⒇
    (0x2488, 1, 20),  # ⒈ .. ⒛
    (0x24F5, 1, 10),  # ⓵ .. ⓾
    (0x2776, 1, 10),  # ❶ .. ❿
    (0x2780, 1, 10),  # ➀ .. ➉
    (0x278A, 1, 10),  # ➊ .. ➓
)
_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹₀₁₂₃₄₅₆₇₈₉"
_PAREN_HANZI = "㈠㈡㈢㈣㈤㈥㈦㈧㈨㈩"
_CIRCLED_HANZI = "㊀㊁㊂㊃㊄㊅㊆㊇㊈㊉"
_HANZI_DIGITS = "一二三四五六七八九十"
_FULLWIDTH_SYMBOLS = "．＊％＋－＿＃｜／＼＝～"

_SEPARATORS = r"\s\u00a0\u3000*\-_·•・.~|/\\+#^=＊×"
_EMOJI = "\U0001f000-\U0001faff\u2600-\u27bf\ufe0f\u200d"
_ZERO_WIDTH = "\u200b-\u200f\u2060\ufeff\u00ad"

# (group name, pattern, replacement), applied as one alternation, left to right.
_SUBSTITUTIONS: tuple[tuple[str, str, str], ...] = (
    ("zero_width", f"[{_ZERO_WIDTH}]+", ""),
    ("separator", f"(?<=[{CJK}])(?:[{_SEPARATORS}{_EMOJI}]{{1,3}})(?=[{CJK}])", ""),
    ("no_one", r"(?<![a-z0-9])(?:no|top|n0)\s?[.:]?\s?1(?![0-9.])", "第一"),
    ("di_one", r"第\s?(?:1|yi|l)(?![0-9a-z.])", "第一"),
    ("di", r"(?<![a-z])di(?=一)", "第"),
    ("zui", f"(?<![a-z])zui(?=[{CJK}])", "最"),
    ("zui_homophone", "(?<![喝陶沉麻宿灌酒迷])[醉罪嘴蕞](?=好|佳|强|优|低价|便宜|高级|顶级|先进|安全|有效)", "最"),
    ("weiyi", r"(?<![a-z])wei\s?(?:yi|1)(?![a-z0-9])", "唯一"),
    ("wei", r"(?<![a-z])wei(?=一)", "唯"),
    ("wei_yi", r"(?<=唯)(?:yi|1)(?![a-z0-9])", "一"),
    ("jue", r"(?<![a-z])jue(?=对)", "绝"),
    ("jue_dui", r"(?<=绝)dui(?![a-z])", "对"),
    ("genzhi", r"(?<![a-z])gen\s?zhi(?![a-z])", "根治"),
    ("gen", r"(?<![a-z])gen(?=治)", "根"),
    ("gen_zhi", r"(?<=根)zhi(?![a-z])", "治"),
    ("baoben", r"(?<![a-z])bao\s?ben(?![a-z])", "保本"),
    ("bao", r"(?<![a-z])bao(?=本|过|收益|赚)", "保"),
    ("bao_ben", r"(?<=保)ben(?![a-z])", "本"),
    ("shou", r"(?<![a-z])shou(?=选)", "首"),
    ("yiliu", r"(?<![0-9])1流", "一流"),
)

_SUB_REPLACEMENTS = {name: repl for name, _pattern, repl in _SUBSTITUTIONS}
_SUB_REGEX = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern, _repl in _SUBSTITUTIONS))
# Every substitution starts inside a run of these characters; scanning for runs is
# a fast C loop, and the full alternation then only runs inside each short run.
_RUN_REGEX = re.compile(f"[a-z0-9{_SEPARATORS}{_EMOJI}{_ZERO_WIDTH}醉罪嘴蕞第唯绝根保]+")
_LOOKAHEAD = 3


@lru_cache(maxsize=1)
def t2s_table() -> dict[int, str]:
    """Single-character traditional→simplified map taken from OpenCC's character list."""
    converter = opencc.OpenCC("t2s")
    path = os.path.join(os.path.dirname(opencc.__file__), "dictionary", "TSCharacters.txt")
    table: dict[int, str] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            char = line.split("\t", 1)[0]
            simplified = converter.convert(char)
            if len(char) == 1 and len(simplified) == 1 and simplified != char:
                table[ord(char)] = simplified
    return table


@lru_cache(maxsize=1)
def char_table() -> dict[int, str]:
    """The one-to-one character folding table used by :func:`normalize`."""
    table = dict(t2s_table())
    for code in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)):
        table[code] = chr(code - 0xFEE0).lower()
    for char in _FULLWIDTH_SYMBOLS:
        table[ord(char)] = chr(ord(char) - 0xFEE0)
    for code in range(ord("A"), ord("Z") + 1):
        table[code] = chr(code).lower()
    for start, first, count in _ENCLOSED_DIGIT_RANGES:
        for offset in range(count):
            value = first + offset
            if value < 10:
                table[start + offset] = str(value)
    for index, char in enumerate(_SUPERSCRIPTS):
        table[ord(char)] = str(index % 10)
    for index, char in enumerate(_PAREN_HANZI):
        table[ord(char)] = _HANZI_DIGITS[index]
    for index, char in enumerate(_CIRCLED_HANZI):
        table[ord(char)] = _HANZI_DIGITS[index]
    table[0x3000] = " "
    return table


@lru_cache(maxsize=1)
def _needs_fold() -> re.Pattern[str]:
    """Matches any character the folding table changes (most texts contain none)."""
    chars = "".join(sorted(chr(code) for code in char_table()))
    return re.compile(f"[{re.escape(chars)}]")


@dataclass(frozen=True)
class Normalized:
    """Normalised text plus the edits needed to map spans back to the original."""

    text: str
    original: str
    edit_starts: tuple[int, ...]
    edits: tuple[tuple[int, int, int, int], ...]

    def to_original_start(self, pos: int) -> int:
        """Map a start offset in the normalised text to the original text."""
        index = bisect.bisect_right(self.edit_starts, pos) - 1
        if index < 0:
            return pos
        norm_start, norm_end, orig_start, orig_end = self.edits[index]
        if pos < norm_end:
            return orig_start
        return orig_end + (pos - norm_end)

    def to_original_end(self, pos: int) -> int:
        """Map an end offset (exclusive) in the normalised text to the original text."""
        index = bisect.bisect_left(self.edit_starts, pos) - 1
        if index < 0:
            return pos
        norm_start, norm_end, orig_start, orig_end = self.edits[index]
        if pos <= norm_end:
            return orig_end
        return orig_end + (pos - norm_end)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a normalised span to the smallest original span that produced it."""
        orig_start = self.to_original_start(start)
        return orig_start, max(orig_start, self.to_original_end(end))


def fold_chars(text: str) -> str:
    """Apply only the one-to-one character folding (used for rulebook terms)."""
    return text.translate(char_table())


def _substitutions(folded: str) -> list[re.Match[str]]:
    """Substitution matches, found only inside runs of candidate characters."""
    matches: list[re.Match[str]] = []
    last = 0
    size = len(folded)
    for run in _RUN_REGEX.finditer(folded):
        start, end = run.span()
        for match in _SUB_REGEX.finditer(folded, max(start, last), min(size, end + _LOOKAHEAD)):
            if match.start() >= end:
                break
            if match.end() > match.start() or match.lastgroup in ("zero_width", "separator"):
                matches.append(match)
                last = match.end()
    return matches


def normalize(text: str) -> Normalized:
    """Normalise ``text`` against evasion, keeping an offset map to the original."""
    folded = text.translate(char_table()) if _needs_fold().search(text) else text
    matches = _substitutions(folded)
    if not matches:
        return Normalized(folded, text, (), ())
    pieces: list[str] = []
    edits: list[tuple[int, int, int, int]] = []
    last = 0
    norm_len = 0
    for match in matches:
        start, end = match.span()
        pieces.append(folded[last:start])
        norm_len += start - last
        replacement = _SUB_REPLACEMENTS[match.lastgroup or ""]
        pieces.append(replacement)
        edits.append((norm_len, norm_len + len(replacement), start, end))
        norm_len += len(replacement)
        last = end
    pieces.append(folded[last:])
    return Normalized("".join(pieces), text, tuple(e[0] for e in edits), tuple(edits))


def normalize_term(term: str) -> str:
    """Normalise a rulebook term the same way documents are normalised."""
    return normalize(term).text

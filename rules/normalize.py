"""Evasion-resistant text normalisation with an offset map back to the original.

The pipeline is ``str.lower``, then the folding of the few characters that need it
(full-width, enclosed digits, traditional to simplified, all one character to one
character; see :func:`fold`), followed by a single regex pass that deletes
masking separators inside CJK words and rewrites pinyin, homophone and "NO.1"
style substitutions of key terms.  Only the regex
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
_SURROGATES = range(0xD800, 0xE000)
_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹₀₁₂₃₄₅₆₇₈₉"
_PAREN_HANZI = "㈠㈡㈢㈣㈤㈥㈦㈧㈨㈩"
_CIRCLED_HANZI = "㊀㊁㊂㊃㊄㊅㊆㊇㊈㊉"
_HANZI_DIGITS = "一二三四五六七八九十"
_FULLWIDTH_SYMBOLS = "．＊％＋－＿＃｜／＼＝～"

_SEPARATORS = r" \t\f\v\u00a0\u3000*\-_·•・.~|/\\+#^=＊×"
_EMOJI = "\U0001f000-\U0001faff\u2600-\u27bf\ufe0f\u200d"
_ZERO_WIDTH = "\u200b-\u200f\u2060\ufeff\u00ad"

# (group name, first characters, rest of the pattern, replacement).  Each substitution
# consumes its first character and then checks its context with look-behinds, so the
# whole alternation starts with one character class: ``re`` skips every other
# character in C, and a text without any candidate costs one fast scan.
_SEP = f"{_SEPARATORS}{_EMOJI}"
_SUBSTITUTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("zero_width", _ZERO_WIDTH, f"[{_ZERO_WIDTH}]*", ""),
    ("separator", _SEP, f"(?<=[{CJK}][{_SEP}])[{_SEP}]{{0,2}}(?=[{CJK}])", ""),
    ("no_one", "nt", r"(?:(?<=n)(?<![a-z0-9]n)[o0]|(?<=t)(?<![a-z0-9]t)op)\s?[.:]?\s?1(?![0-9.])", "第一"),
    ("di_one", "第", r"(?<=第)\s?(?:1|yi|l)(?![0-9a-z.])", "第一"),
    ("di", "d", r"(?<=d)(?<![a-z]d)i(?=一)", "第"),
    ("zui", "z", f"(?<=z)(?<![a-z]z)ui(?=[{CJK}])", "最"),
    ("zui_homophone", "醉罪嘴蕞", "(?<![喝陶沉麻宿灌酒迷].)(?=好|佳|强|优|低价|便宜|高级|顶级|先进|安全|有效)", "最"),
    ("weiyi", "w", r"(?<=w)(?<![a-z]w)ei\s?(?:yi|1)(?![a-z0-9])", "唯一"),
    ("wei", "w", r"(?<=w)(?<![a-z]w)ei(?=一)", "唯"),
    ("wei_yi", "y1", r"(?:(?<=唯y)i|(?<=唯1))(?![a-z0-9])", "一"),
    ("jue", "j", r"(?<=j)(?<![a-z]j)ue(?=对)", "绝"),
    ("jue_dui", "d", r"(?<=绝d)ui(?![a-z])", "对"),
    ("genzhi", "g", r"(?<=g)(?<![a-z]g)en\s?zhi(?![a-z])", "根治"),
    ("gen", "g", r"(?<=g)(?<![a-z]g)en(?=治)", "根"),
    ("gen_zhi", "z", r"(?<=根z)hi(?![a-z])", "治"),
    ("baoben", "b", r"(?<=b)(?<![a-z]b)ao\s?ben(?![a-z])", "保本"),
    ("bao", "b", r"(?<=b)(?<![a-z]b)ao(?=本|过|收益|赚)", "保"),
    ("bao_ben", "b", r"(?<=保b)en(?![a-z])", "本"),
    ("shou", "s", r"(?<=s)(?<![a-z]s)hou(?=选)", "首"),
    ("yiliu", "1", r"(?<=1)(?<![0-9]1)流", "一流"),
)

_SUB_REPLACEMENTS = {name: repl for name, _first, _rest, repl in _SUBSTITUTIONS}


# Contexts in which no substitution starts, rejected before the groups are tried one by
# one: a letter inside a word (every pinyin substitution needs a non-letter before its
# first letter), a "1" inside a number, and a separator not preceded by a CJK character.
# Pages hold far more of these than candidates (English, URLs, dates, prices).
_NO_SUBSTITUTION_HERE = (
    "(?<![a-z][a-z])(?<![0-9]1)"
    f"(?<![^{CJK}][{_SEPARATORS}{_EMOJI.replace(chr(0x200D), '')}])"
)


def _alternation() -> str:
    """The substitutions grouped by first characters, so a character is tested once per group."""
    groups: dict[str, list[str]] = {}
    for name, first, rest, _repl in _SUBSTITUTIONS:
        groups.setdefault(first, []).append(f"(?P<{name}>{rest})")
    branches = "|".join(f"(?<=[{first}])(?:{'|'.join(parts)})" for first, parts in groups.items())
    return f"[{''.join(groups)}]{_NO_SUBSTITUTION_HERE}(?:{branches})"


_SUB_REGEX = re.compile(_alternation())


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
    # A lone surrogate (JSON can carry one: "\ud851") is no character: it cannot be
    # encoded, so the automaton and jieba would fail on the whole text.
    for code in _SURROGATES:
        table[code] = "\ufffd"
    return table


_LONE_SURROGATE = re.compile(f"[{chr(_SURROGATES[0])}-{chr(_SURROGATES[-1])}]")


def replace_lone_surrogates(text: str) -> str:
    """Each lone surrogate as U+FFFD, one character for one, so offsets still hold.

    JSON can escape one (``"\\ud851"``); it is no character, and UTF-8 cannot encode it,
    so it would fail whatever writes or hands the text on (SQLite, a JSON line, jieba).
    """
    return _LONE_SURROGATE.sub("\ufffd", text)


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


@lru_cache(maxsize=1)
def fold_keys() -> frozenset[str]:
    """The characters, other than upper-case ones, that the folding table changes in a lower-cased text."""
    return frozenset(chr(code) for code in char_table() if chr(code).lower() == chr(code))


def lower(text: str) -> str:
    """``str.lower``, except that the few characters whose lower case is longer ("İ") stay as they are."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(low if len(low) == 1 else char for char, low in zip(text, map(str.lower, text), strict=True))


@lru_cache(maxsize=1)
def _fold_candidates() -> re.Pattern[str]:
    """Every folding key up to U+FFFF, and every character beyond it.

    ``re`` tests a character against a class of characters up to U+FFFF with a bitmap,
    but against every listed character beyond U+FFFF one by one (the 354 traditional
    characters of CJK extension B made that search cost a saved Tmall page a second),
    so those enter the class as one range; :func:`fold` leaves the ones that are no key.
    """
    basic = "".join(sorted(key for key in fold_keys() if ord(key) <= 0xFFFF))
    return re.compile(f"[{re.escape(basic)}\U00010000-\U0010FFFF]")


def fold(lowered: str) -> str:
    """Apply the folding table to a lower-cased text, looking up only its candidate characters.

    A text holding a few full-width or traditional characters (most pages) costs one
    search and a call per such character, instead of a table look-up per character.
    """
    candidates = _fold_candidates()
    if candidates.search(lowered) is None:
        return lowered
    table = char_table()
    return candidates.sub(lambda match: table.get(ord(match.group()), match.group()), lowered)


def normalize(text: str) -> Normalized:
    """Normalise ``text`` against evasion, keeping an offset map to the original."""
    folded = fold(lower(text))
    first = _SUB_REGEX.search(folded)
    if first is None:
        return Normalized(folded, text, (), ())
    # Every match consumes at least one character and look-behinds see before ``pos``,
    # so scanning on from the first match's end finds exactly the remaining matches.
    matches = [first, *_SUB_REGEX.finditer(folded, first.end())]
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

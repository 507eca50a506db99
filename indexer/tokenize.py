"""Chinese word segmentation (jieba) and character folding for full-text search, shared by indexing and querying.

jieba runs as jieba-rs, its Rust port (see :mod:`rules.segment`).

The rule engine's terms belong in the same dictionary, so that search segments
text exactly as the rules do: call :func:`add_words` with them (before or after
the first cut; words added later take effect from then on).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

import rjieba

from rules.normalize import char_table, replace_lone_surrogates
from rules.segment import add_words_to, jieba_with

_NOT_WORD_OR_NEWLINE = re.compile(r"[^\w\n]+")
_extra_words: set[str] = set()
_BMP_END = 0xFFFF
_SURROGATES = range(0xD800, 0xE000)
#: Stands for a space in :func:`gram_string` (a whitespace analyzer drops spaces); folded away from texts.
GRAM_SPACE = "\ue002"


@lru_cache(maxsize=1)
def fold_table() -> dict[int, str]:
    """One character to one character: traditional to simplified, full-width to half-width, upper to lower case,
    every kind of space to a plain space.

    The rule engine's folding table (:func:`rules.normalize.char_table`, OpenCC's character list), less lone
    surrogates (no text holds them once stored), and closed (a folded character folds to itself), so folding
    twice changes nothing.  Every backend folds texts and queries with it, in Python.
    """
    base = {key: value for key, value in char_table().items() if key not in _SURROGATES}
    base.update({code: " " for code in range(_BMP_END + 1) if chr(code).isspace() and code != ord(" ")})
    base[ord(GRAM_SPACE)] = "\ufffd"
    closed = {}
    for key, value in base.items():
        while ord(value) in base and base[ord(value)] != value:
            value = base[ord(value)]
        if chr(key) != value:
            closed[key] = value
    return closed


def fold(text: str) -> str:
    """``text`` folded for search (:func:`fold_table`): 治癒 → 治愈, ＡＢＣ → abc; as long as ``text``."""
    return text.translate(fold_table())


def gram_string(text: str) -> str:
    """``text`` folded, one character a token, spaces as :data:`GRAM_SPACE`: what a search engine's whitespace
    analyzer indexes, so that a phrase query of a term's characters finds exactly where they stand together."""
    return " ".join(fold(text).replace(" ", GRAM_SPACE))


@lru_cache(maxsize=1)
def _tokenizer() -> rjieba.Jieba:
    return jieba_with(sorted(_extra_words))


def add_words(words: Iterable[str]) -> int:
    """Add ``words`` (e.g. the rulebook's terms) to the search dictionary; returns how many were new."""
    new = {w.strip() for w in words if w and w.strip()} - _extra_words
    _extra_words.update(new)
    if _tokenizer.cache_info().currsize:
        add_words_to(_tokenizer(), sorted(new))
    return len(new)


def tokens(text: str) -> list[str]:
    """The words of ``text`` as jieba cuts them (search-engine mode), punctuation dropped.

    The HMM guesser for unknown words stays off, as in the rule engine's windows:
    the same text is cut the same way, and a third faster.
    """
    # One substitution and one lower() over the words joined by newlines, instead of one per
    # word: no word holds a newline (jieba cuts whitespace apart), so splitting gives them back.
    joined = "\n".join(_tokenizer().cut_for_search(replace_lone_surrogates(text), False))
    return [word for word in _NOT_WORD_OR_NEWLINE.sub("", joined).lower().split("\n") if word]


def token_string(text: str) -> str:
    """``text`` as space-separated words: what FTS5's unicode61 tokenizer (or a whitespace analyzer) indexes."""
    return " ".join(tokens(text))


def quoted_phrase(text: str) -> str | None:
    """The phrase of a quoted query (``"有效率98%"``), searched as raw text; ``None`` for a query of words."""
    stripped = text.strip()
    if len(stripped) > 2 and stripped[0] == stripped[-1] == '"':
        return stripped[1:-1]
    return None

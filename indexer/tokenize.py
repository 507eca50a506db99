"""Chinese word segmentation for full-text search (jieba), shared by indexing and querying."""

from __future__ import annotations

import logging
import re
from functools import lru_cache

import jieba

_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)


@lru_cache(maxsize=1)
def _tokenizer() -> jieba.Tokenizer:
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def tokens(text: str) -> list[str]:
    """The words of ``text`` as jieba cuts them (search-engine mode), punctuation dropped."""
    words = (_NOT_WORD.sub("", w) for w in _tokenizer().cut_for_search(text))
    return [w.lower() for w in words if w]


def token_string(text: str) -> str:
    """``text`` as space-separated words: what FTS5's unicode61 tokenizer (or a whitespace analyzer) indexes."""
    return " ".join(tokens(text))

"""The search language every backend understands: terms, ``OR``, ``NOT`` / ``-`` and ``"phrases"``.

A term is found where its characters stand together in the ad's text, folded
(:func:`indexer.tokenize.fold`: traditional to simplified, full-width to
half-width, upper to lower case) — so 最 finds 最好 and 最佳, and 治癒 finds
治愈.  Terms are separated by spaces and all required; ``OR`` between terms
lets either do; ``NOT term`` or ``-term`` excludes ads holding it; a quoted
phrase may hold spaces and words like OR.  A term of punctuation only is
ignored; a query left with nothing to look for finds nothing.

    糖尿病 OR 高血压 根治       (糖尿病 or 高血压) and 根治
    减肥 -治愈                  减肥, but not 治愈 (also: 减肥 NOT 治愈)
    "有效率 98%"                these characters, the space included
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from indexer.tokenize import fold

_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORD = re.compile(r"\w")
OR, NOT, AND = "OR", "NOT", "AND"


@dataclass(frozen=True)
class SearchText:
    """A parsed query: every group must match (a group: any of its folded terms); no excluded term may."""

    groups: tuple[tuple[str, ...], ...] = ()
    excluded: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """Nothing to look for: the query finds nothing."""
        return not self.groups and not self.excluded

    @property
    def wanted(self) -> list[str]:
        """The terms a match may hold, each once, in query order: what highlighting marks."""
        return list(dict.fromkeys(term for group in self.groups for term in group))


def _tokens(text: str) -> list[tuple[str, bool, bool]]:
    """The query's tokens as (text, quoted, negated by a leading ``-``)."""
    tokens = []
    for minus, quoted, bare in (match.groups() for match in _TOKEN.finditer(text)):
        if quoted is not None:
            tokens.append((quoted, True, bool(minus)))
        elif bare.startswith("-") and len(bare) > 1:
            tokens.append((bare[1:], False, True))
        else:
            tokens.append((bare, False, False))
    return tokens


def _term(token: str, quoted: bool) -> str:
    """The folded term of a token; empty for a bare token of punctuation only."""
    return fold(token) if quoted or _WORD.search(token) else ""


@lru_cache(maxsize=256)
def parse(text: str) -> SearchText:
    """Parse a query (see the module's documentation)."""
    groups: list[list[str]] = []
    excluded: list[str] = []
    negate = join = False
    for token, quoted, minus in _tokens(text):
        if not quoted and not minus and token in (OR, NOT, AND):
            negate, join = (token == NOT), (token == OR and bool(groups) and not negate)
            continue
        negate = negate or minus
        term = _term(token, quoted)
        if term.strip():
            if negate:
                excluded.append(term)
            elif join:
                groups[-1].append(term)
            else:
                groups.append([term])
        negate = join = False
    return SearchText(tuple(tuple(group) for group in groups), tuple(excluded))

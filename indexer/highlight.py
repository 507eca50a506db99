"""Highlighting with safe markers: matches wrapped in private-use characters, never in HTML tags.

Crawled text is hostile: an ad may carry its own ``<script>`` or ``</em>``.
Fragments therefore come back as plain text in which each match is wrapped in
:data:`MARK_START` … :data:`MARK_END` (code points of the Unicode private-use
area); whoever shows them escapes the text first and only then turns the
markers into markup.  Every backend marks its results here, from the text, so
highlights are alike whatever answered the query.
"""

from __future__ import annotations

from indexer.query import parse
from indexer.tokenize import fold

MARK_START = "\ue000"
MARK_END = "\ue001"

#: Fragment length (characters) and fragments per document, for every backend.
FRAGMENT_SIZE = 80
FRAGMENTS = 3

#: Markers already in the crawled text are replaced (same length), so they cannot fake or unbalance a highlight.
_NEUTRAL = str.maketrans({MARK_START: "\ufffd", MARK_END: "\ufffd"})

Span = tuple[int, int]


def strip_marks(s: str) -> str:
    """``s`` without highlight markers: the plain text of a fragment."""
    return s.replace(MARK_START, "").replace(MARK_END, "")


def query_words(text: str) -> list[str]:
    """What a query highlights: its terms and phrases that an ad may hold (not the excluded ones), folded."""
    return parse(text).wanted


def mark_fragments(text: str, words: list[str], size: int = FRAGMENT_SIZE, limit: int = FRAGMENTS) -> list[str]:
    """Up to ``limit`` fragments of about ``size`` characters of ``text``, each occurrence of ``words`` marked.

    Occurrences are found by plain substring search in the folded text (:func:`indexer.tokenize.fold`, one
    character for one, so places in it are places in ``text``): 治癒 is marked where the query says 治愈;
    overlapping or touching ones get one mark.  Fragments never cut an occurrence
    and do not overlap; those holding the most distinct words are kept, in text order.
    """
    text = text.translate(_NEUTRAL)
    windows = _windows(_spans(text, words), len(text), size)
    ranked = sorted(range(len(windows)), key=lambda i: (-_distinct(text, windows[i][2]), i))
    return [_render(text, *windows[i]) for i in sorted(ranked[:max(limit, 0)])]


def _spans(text: str, words: list[str]) -> list[Span]:
    """Every occurrence of every word, sorted, overlapping and touching ones merged."""
    folded = fold(text)
    found = []
    for word in {fold(w) for w in words if w}:
        start = folded.find(word)
        while start >= 0:
            found.append((start, start + len(word)))
            start = folded.find(word, start + 1)
    merged: list[Span] = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _windows(spans: list[Span], length: int, size: int) -> list[tuple[int, int, list[Span]]]:
    """Consecutive fragments (start, end, spans inside), each centred on its first span, taking in what fits."""
    windows: list[tuple[int, int, list[Span]]] = []
    floor, i = 0, 0
    while i < len(spans):
        first_start, first_end = spans[i]
        start = max(floor, first_start - max(size - (first_end - first_start), 0) // 2)
        end = max(first_end, min(length, start + size))
        start = max(floor, min(start, end - size))
        inside = [spans[i]]
        i += 1
        while i < len(spans) and spans[i][1] <= end:
            inside.append(spans[i])
            i += 1
        if i < len(spans) and spans[i][0] < end:
            end = spans[i][0]
        windows.append((start, end, inside))
        floor = end
    return windows


def _distinct(text: str, spans: list[Span]) -> int:
    return len({fold(text[start:end]) for start, end in spans})


def _render(text: str, start: int, end: int, spans: list[Span]) -> str:
    pieces, at = [], start
    for span_start, span_end in spans:
        pieces += [text[at:span_start], MARK_START, text[span_start:span_end], MARK_END]
        at = span_end
    pieces.append(text[at:end])
    return "".join(pieces).strip()

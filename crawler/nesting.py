"""Keep a page readable where lxml loses what a browser shows: deep nesting, a stray ``</html>``.

libxml2's HTML parser, even with ``huge_tree``, gives up at a depth of 2,048 ("Excessive depth
in document") and keeps nothing after that point: a page that opens 3,000 ``<div>`` before its
ad hides the ad from every selector, while a browser shows it.  :func:`repair_deep_nesting`
finds such a page by parsing it as parsel does and, only then, removes the tags of the
wrappers that make it so deep (:func:`flatten`): all the text stays, in order, and so do the
elements near it.

A stray ``</html>`` or ``</body>``: a browser puts whatever follows it back into the body
(the HTML standard's "after body" modes); libxml2 puts it after the body or, past ``</html>``,
after the root element, where no CSS selector looks.  :func:`repair_stray_end_tags` removes
such end tags, as a browser ignores them.
"""

from __future__ import annotations

import re
from collections import Counter

from lxml import etree

KEPT_DEPTH = 512
KEPT_HEIGHT = 256
# A page with fewer tags than this cannot be nested past lxml's limit.
_LXML_MAX_DEPTH = 2048
_TOKEN = re.compile(
    r"<!--.*?(?:-->|\Z)"  # a comment
    r"|<(script|style|textarea|title)\b.*?(?:</\1\s*>|\Z)"  # raw text: tags in it are text
    r"|<(/?)([A-Za-z][^\s/>]*)[^>]*>",
    re.S | re.I,
)
# A </body> or </html> with more than white space and such end tags after it.
_ENDS = ("body", "html")
_CONTENT_AFTER_END = re.compile(r"</(?:body|html)\s*>(?!(?:\s|</(?:body|html)\s*>)*\Z)", re.I)
_VOID = frozenset("area base basefont br col embed frame hr img input keygen link meta param source track wbr".split())
# Elements the parser closes by itself when the next one opens (<li><li>, <p><p>): they do not nest.
_IMPLIED_END = frozenset("dd dt li optgroup option p rb rp rt rtc tbody td tfoot th thead tr".split())


def too_deep(text: str) -> bool:
    """True when lxml, parsing ``text`` as parsel does, stops at its depth limit."""
    if text.count("<") < _LXML_MAX_DEPTH:
        return False
    parser = etree.HTMLParser(recover=True, encoding="utf-8", huge_tree=True)
    body = text.strip().replace("\x00", "").encode("utf-8", errors="replace")
    etree.fromstring(body or b"<html/>", parser=parser)
    return any(error.type_name == "ERR_RESOURCE_LIMIT" for error in parser.error_log)


def flatten(
    text: str,
    neutral: frozenset[str] = _VOID | _IMPLIED_END,
    kept_depth: int = KEPT_DEPTH,
    kept_height: int = KEPT_HEIGHT,
) -> tuple[str, int]:
    """``text`` nested at most ``kept_depth + kept_height`` deep; and how many tags that removed.

    An element deeper than ``kept_depth`` loses its tags (its content stays) when more than
    ``kept_height`` levels nest inside it: the run of wrappers goes, and the headings,
    paragraphs and links at the bottom of it keep the structure selectors look for.
    Depth counts the elements open by tag, but not the ``neutral`` ones (void elements and
    those the parser closes by itself), nor self-closed ones; a closing tag closes the
    elements opened inside its own, as a parser does, and a stray one is left alone.
    """
    tags, depth, height = _nest(text, neutral)
    kept: list[str] = []
    start = 0
    for tag_start, tag_end, element in tags:
        if depth[element] > kept_depth and height[element] > kept_height:
            kept.append(text[start:tag_start])
            start = tag_end
    removed = len(kept)
    kept.append(text[start:])
    return "".join(kept), removed


def _nest(text: str, neutral: frozenset[str]) -> tuple[list[tuple[int, int, int]], list[int], list[int]]:
    """The tags of ``text`` as (start, end, element), and each element's depth and height (1 for a leaf)."""
    tags: list[tuple[int, int, int]] = []
    depth: list[int] = []
    height: list[int] = []
    names: list[str] = []
    stack: list[int] = []
    open_names = Counter[str]()

    def close() -> int:
        element = stack.pop()
        open_names[names[element]] -= 1
        if stack:
            height[stack[-1]] = max(height[stack[-1]], height[element] + 1)
        return element

    for match in _TOKEN.finditer(text):
        name = (match.group(3) or "").lower()
        if not name or name in neutral or match.group(0).endswith("/>"):
            continue
        if not match.group(2):
            element = len(depth)
            stack.append(element)
            depth.append(len(stack))
            height.append(1)
            names.append(name)
            open_names[name] += 1
        elif open_names[name]:
            while names[stack[-1]] != name:
                close()
            element = close()
        else:
            continue  # a stray closing tag
        tags.append((match.start(), match.end(), element))
    while stack:
        close()
    return tags, depth, height


def repair_deep_nesting(text: str) -> tuple[str, int]:
    """``text`` as lxml can hold all of it, and how many tags that removed (0: the page was fine).

    A first pass leaves alone the elements that close by themselves; should the page still be
    too deep (they can nest, as in ``<li><ul><li>``), a second pass counts every element.
    """
    if not too_deep(text):
        return text, 0
    repaired, removed = flatten(text)
    if too_deep(repaired):
        repaired, removed = flatten(text, _VOID)
    return repaired, removed


def repair_stray_end_tags(text: str) -> tuple[str, int]:
    """``text`` without its ``</body>`` and ``</html>`` end tags when more of the page follows them, and how many.

    Only end tags in markup count: one in a comment, a script or a style is text.  The parser
    closes the document at its end by itself.
    """
    if not _CONTENT_AFTER_END.search(text):
        return text, 0
    spans = [match.span() for match in _TOKEN.finditer(text) if match.group(2) and match.group(3).lower() in _ENDS]
    after = "".join(text[end:start] for (_, end), (start, _) in zip(spans, [*spans[1:], (len(text), 0)], strict=True))
    if not after.strip():
        return text, 0
    kept, start = [], 0
    for tag_start, tag_end in spans:
        kept.append(text[start:tag_start])
        start = tag_end
    kept.append(text[start:])
    return "".join(kept), len(spans)

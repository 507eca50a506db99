"""Pull item fields out of a page with a profile's selectors."""

from __future__ import annotations

import json
import re
from typing import Any

from parsel import Selector, SelectorList

from crawler.profiles import XPATH_NAMESPACES, FieldSpec, ItemRule
from rules.normalize import replace_lone_surrogates

_SPACES = re.compile(r"\s+")


def _clean(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def json_selector(text: str) -> Selector:
    """A selector over a JSON page; raises ValueError when the page is not JSON.

    JSON can escape a lone surrogate (``"\\ud851"``), which parsel cannot encode: one such
    string used to lose every record of the page.  Each becomes U+FFFD, one for one.
    """
    return Selector(root=_mended(json.loads(text)), type="json")


def _mended(value: Any) -> Any:
    if isinstance(value, str):
        return replace_lone_surrogates(value)
    if isinstance(value, list):
        return [_mended(item) for item in value]
    if isinstance(value, dict):
        return {_mended(key): _mended(item) for key, item in value.items()}
    return value


def _select(node: Selector, spec: FieldSpec) -> list[str]:
    if spec.const is not None:
        return [spec.const] if isinstance(spec.const, str) else list(spec.const)
    if spec.css is not None:
        found: SelectorList = node.css(spec.css)
    elif spec.xpath is not None:
        found = node.xpath(spec.xpath, namespaces=XPATH_NAMESPACES)
    else:
        found = node.jmespath(spec.jmespath)
    return [v if isinstance(v, str) else str(v) for v in found.getall() if v is not None]


def extract_field(node: Selector, spec: FieldSpec) -> str | list[str]:
    """One field's value: a list when ``many``, else one string (joined when ``join`` is set)."""
    values = _select(node, spec)
    if spec.regex:
        pattern = re.compile(spec.regex)
        matches = (pattern.search(v) for v in values)
        values = [m.group(1) if m.groups() else m.group(0) for m in matches if m]
    if spec.join is not None:
        joined = spec.join.join(values)
        values = [joined] if joined.strip() else []
    values = [c for c in (_clean(v) for v in values) if c]
    if spec.many:
        return values
    return values[0] if values else ""


def extract_record(node: Selector, rule: ItemRule) -> dict[str, Any]:
    return {name: extract_field(node, spec) for name, spec in rule.fields.items()}


def records(selector: Selector, rule: ItemRule) -> list[Selector]:
    """The nodes an item rule extracts from: the page itself, or each record.

    ``records`` is a JMESPath for JSON rules and a CSS selector for HTML rules
    (one node per listing on a search or list page).
    """
    if not rule.records:
        return [selector]
    if rule.type == "json":
        return list(selector.jmespath(rule.records))
    return list(selector.css(rule.records))

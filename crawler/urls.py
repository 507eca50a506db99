"""URL canonicalisation: one ad, one URL, whatever tracking parameters ride along."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

COMMON_TRACKING_PARAMS = frozenset(
    {"spm", "scm", "from", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "ref", "_t"}
)


def strip_params(url: str, params: Iterable[str] = ()) -> str:
    """``url`` without tracking parameters and without its fragment."""
    drop = COMMON_TRACKING_PARAMS | set(params)
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in drop]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def canonical_url(url: str, params: Iterable[str] = ()) -> str:
    """Stable form of ``url``: tracking parameters gone, query sorted, escapes normalised."""
    return canonicalize_url(strip_params(url, params))


def same_site(url: str, base_url: str) -> bool:
    """True when ``url`` is on the host *and port* of ``base_url`` (sandbox sites share a host)."""
    a, b = urlsplit(url), urlsplit(base_url)
    return a.scheme in ("http", "https") and a.netloc == b.netloc

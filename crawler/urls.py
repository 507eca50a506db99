"""URL canonicalisation: one ad, one URL, whatever tracking parameters ride along."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from w3lib.url import canonicalize_url, safe_url_string

if TYPE_CHECKING:
    from scrapy.http import TextResponse

COMMON_TRACKING_PARAMS = frozenset(
    {"spm", "scm", "from", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "ref", "_t"}
)


def link_url(response: TextResponse, href: str) -> str:
    """The URL a browser requests for the link ``href`` on the page ``response``.

    As in a browser, a character in the query is percent-encoded in the page's encoding (奶粉
    on a GBK page is ``%C4%CC%B7%DB``, what the site's server expects) and one in the path in UTF-8.
    """
    return safe_url_string(response.urljoin(href), encoding=response.encoding)


def strip_params(url: str, params: Iterable[str] = ()) -> str:
    """``url`` without tracking parameters and without its fragment.

    The other parameters stay byte for byte: decoding them (``%C4%CC`` is GBK, not UTF-8) would
    turn every GBK query into the same U+FFFD and two ads into one URL.
    """
    drop = COMMON_TRACKING_PARAMS | set(params)
    parts = urlsplit(url)
    query = [pair for pair in parts.query.split("&") if pair and unquote_plus(pair.partition("=")[0]) not in drop]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "&".join(query), ""))


def canonical_url(url: str, params: Iterable[str] = ()) -> str:
    """Stable form of ``url``: tracking parameters gone, query sorted, escapes normalised."""
    return canonicalize_url(strip_params(url, params))


def same_site(url: str, base_url: str) -> bool:
    """True when ``url`` is on the host *and port* of ``base_url`` (sandbox sites share a host)."""
    a, b = urlsplit(url), urlsplit(base_url)
    return a.scheme in ("http", "https") and a.netloc == b.netloc

"""Downloader middleware: hand the spider every text response as a browser reads it.

That is, decoded with its real encoding (:mod:`crawler.encoding`), and for HTML, nested
no deeper than lxml can hold and without a ``</body>`` or ``</html>`` before more of the
page (:mod:`crawler.nesting`).
"""

from __future__ import annotations

import logging

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import HtmlResponse, Response, TextResponse

from crawler.encoding import detect_encoding
from crawler.nesting import repair_deep_nesting, repair_stray_end_tags

logger = logging.getLogger(__name__)

#: Request meta key: why the page's text may not be what it means, when it may not (see ``AdItem.encoding_doubt``).
DOUBT_META_KEY = "adwatch_encoding_doubt"


class EncodingMiddleware:
    """Replaces Scrapy's guess (which reads only the first KB) with :func:`crawler.encoding.detect_encoding`.

    A doubtful decoding (replacement characters, or a guess against the declared labels) is
    counted as ``adwatch/encoding/doubt`` and its reason put in the request's meta for the
    items of the page.  An HTML page nested past lxml's limit is flattened below it, counted
    as ``adwatch/html/deep_nesting`` (pages) and ``adwatch/html/deep_nesting/tags_removed``; one
    with a ``</body>`` or ``</html>`` before more of it loses those end tags (``adwatch/html/stray_end_tag``).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EncodingMiddleware:
        if not crawler.settings.getbool("ADWATCH_ENCODING_ENABLED"):
            raise NotConfigured("ADWATCH_ENCODING_ENABLED is off")
        return cls(crawler)

    def process_response(self, request: Request, response: Response, spider: Spider) -> Response:
        if not isinstance(response, TextResponse) or not response.body:
            return response
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1")
        detection = detect_encoding(response.body, content_type)
        self.stats.inc_value(f"encoding/{detection.encoding}")
        if detection.doubt:
            self.stats.inc_value("adwatch/encoding/doubt")
            request.meta[DOUBT_META_KEY] = detection.doubt
            logger.info("Doubtful decoding of %s: %s", response.url, detection.doubt, extra={"spider": spider})
        if detection.encoding != response.encoding:
            response = response.replace(encoding=detection.encoding)
        if isinstance(response, HtmlResponse):
            return self._repair_html(response, spider)
        return response

    def _repair_html(self, response: HtmlResponse, spider: Spider) -> HtmlResponse:
        text, stray = repair_stray_end_tags(response.text)
        if stray:
            self.stats.inc_value("adwatch/html/stray_end_tag")
            logger.info("Repaired %s: %d stray end tags removed", response.url, stray, extra={"spider": spider})
        text, removed = repair_deep_nesting(text)
        if removed:
            self.stats.inc_value("adwatch/html/deep_nesting")
            self.stats.inc_value("adwatch/html/deep_nesting/tags_removed", removed)
            logger.info("Flattened %s: %d tags nested too deep for lxml removed", response.url, removed,
                        extra={"spider": spider})  # fmt: skip
        if not stray and not removed:
            return response
        # A character the page's encoding cannot write (a U+FFFD put in by decoding) goes in as a character reference.
        return response.replace(body=text.encode(response.encoding, errors="xmlcharrefreplace"))

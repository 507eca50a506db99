"""Downloader middleware: decode every text response with its real encoding."""

from __future__ import annotations

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response, TextResponse

from crawler.encoding import detect


class EncodingMiddleware:
    """Replaces Scrapy's guess (which reads only the first KB) with :func:`crawler.encoding.detect`."""

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EncodingMiddleware:
        if not crawler.settings.getbool("ADWATCH_ENCODING_ENABLED"):
            raise NotConfigured("ADWATCH_ENCODING_ENABLED is off")
        return cls(crawler)

    def process_response(self, request, response: Response, spider: Spider) -> Response:
        if not isinstance(response, TextResponse) or not response.body:
            return response
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1")
        encoding = detect(response.body, content_type)
        self.stats.inc_value(f"encoding/{encoding}")
        if encoding == response.encoding:
            return response
        return response.replace(encoding=encoding)

"""Downloader middleware: archive every raw response in WARC, for evidence.

Each spider writes one gzipped WARC file under ``ADWATCH_RAW_DIR``; each
response's location there (``<file>#<offset>``) travels in
``response.meta["adwatch_raw_ref"]`` onto the item built from it.
"""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.config import AdWatchConfig

META_KEY = "adwatch_raw_ref"


class RawArchiveMiddleware:
    def __init__(self, crawler: Crawler, raw_dir: Path) -> None:
        self.stats = crawler.stats
        self.raw_dir = raw_dir
        self._file = None
        self._writer: WARCWriter | None = None
        self._name = ""
        crawler.signals.connect(self.close, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RawArchiveMiddleware:
        if not crawler.settings.getbool("ADWATCH_RAW_ARCHIVE_ENABLED"):
            raise NotConfigured("ADWATCH_RAW_ARCHIVE_ENABLED is off")
        return cls(crawler, AdWatchConfig.from_settings(crawler.settings).raw_dir)

    def _open(self, spider: Spider) -> WARCWriter:
        self.raw_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        self._name = f"{spider.name}-{stamp}-{os.getpid()}.warc.gz"
        self._file = open(self.raw_dir / self._name, "ab")
        self._writer = WARCWriter(self._file, gzip=True)
        return self._writer

    def process_response(self, request, response: Response, spider: Spider) -> Response:
        writer = self._writer or self._open(spider)
        offset = self._file.tell()
        try:
            writer.write_record(self._record(writer, response))
            self._file.flush()  # evidence capture copies the record while the crawl runs
        except OSError as exc:
            self.stats.inc_value("raw_archive/error")
            spider.logger.error("Could not archive %s in %s: %s", response.url, self._name, exc)
            return response
        self.stats.inc_value("raw_archive/records")
        request.meta[META_KEY] = f"{self._name}#{offset}"
        return response

    @staticmethod
    def _record(writer: WARCWriter, response: Response):
        headers = [(k.decode("latin-1"), b", ".join(v).decode("latin-1")) for k, v in response.headers.items()]
        status = StatusAndHeaders(f"{response.status} {_reason(response.status)}", headers, protocol="HTTP/1.1")
        return writer.create_warc_record(
            response.url, "response", payload=io.BytesIO(response.body), http_headers=status
        )

    def close(self, spider: Spider) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self._writer = None


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"

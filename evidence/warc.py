"""The evidence WARC of one flagged page: request, the raw response as archived, and the rendered DOM.

The response record is copied byte for byte from the crawl's raw archive
(``AdItem.raw_ref`` = ``<file>#<offset>``), so its WARC digests are the ones
written when the page arrived.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.exceptions import EvidenceError


@dataclass
class RawRecord:
    """A response record read back from the raw archive."""

    data: bytes
    record_id: str
    target_uri: str
    date: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    payload_digest: str = ""


def read_raw_record(raw_dir: Path, raw_ref: str) -> RawRecord:
    """The gzip member holding the record at ``raw_ref``, with the facts the capture record needs."""
    name, _, offset = raw_ref.partition("#")
    if not name or not offset.isdigit() or "/" in name or "\\" in name:
        raise EvidenceError(f"bad raw archive reference {raw_ref!r}")
    path = raw_dir / name
    try:
        with path.open("rb") as handle:
            handle.seek(int(offset))
            iterator = ArchiveIterator(handle)
            record = next(iterator)
            facts = _facts(record)
            iterator.read_to_end(record)
            length = iterator.get_record_length()
            handle.seek(int(offset))
            data = handle.read(length)
    except (OSError, StopIteration, ValueError) as exc:
        raise EvidenceError(f"cannot read raw record {raw_ref} in {raw_dir}: {exc}") from exc
    return RawRecord(data=data, **facts)


def _facts(record: Any) -> dict[str, Any]:
    http = record.http_headers
    return {
        "record_id": record.rec_headers.get_header("WARC-Record-ID") or "",
        "target_uri": record.rec_headers.get_header("WARC-Target-URI") or "",
        "date": record.rec_headers.get_header("WARC-Date") or "",
        "status": int(http.get_statuscode() or 0) if http else 0,
        "headers": dict(http.headers) if http else {},
        "payload_digest": record.rec_headers.get_header("WARC-Payload-Digest") or "",
    }


def write_evidence_warc(path: Path, raw: RawRecord | None, url: str, request_headers: dict[str, str], dom: str) -> None:
    """warcinfo, the (reconstructed) GET request, the archived response, and the DOM as a resource record."""
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "AdWatch evidence capture"}))
        writer.write_record(_request(writer, raw, url, request_headers))
        if raw is not None:
            handle.write(raw.data)
        if dom:
            writer.write_record(_dom(writer, url, dom))


def _request(writer: WARCWriter, raw: RawRecord | None, url: str, request_headers: dict[str, str]) -> Any:
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    headers = [("Host", parts.netloc), *((k, v) for k, v in request_headers.items() if k.lower() != "host")]
    http = StatusAndHeaders(f"GET {target} HTTP/1.1", headers, is_http_request=True)
    warc_headers = {}
    if raw is not None:
        warc_headers = {"WARC-Concurrent-To": raw.record_id, "WARC-Date": raw.date}
    return writer.create_warc_record(url, "request", http_headers=http, warc_headers_dict=warc_headers)


def _dom(writer: WARCWriter, url: str, dom: str) -> Any:
    payload = dom.encode("utf-8")
    return writer.create_warc_record(
        f"urn:dom:{url}",
        "resource",
        payload=io.BytesIO(payload),
        length=len(payload),
        warc_content_type="text/html; charset=utf-8",
    )

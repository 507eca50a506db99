"""Capture during a real crawl: every flagged collect ad gets a WACZ package whose manifest hash is stored."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from evidence.manifest import sha256_bytes
from evidence.package import verify_package
from tests.evidence.conftest import query, requires_chromium

pytestmark = requires_chromium


def _evidence(data: Path) -> list[tuple]:
    return query(
        data / "adwatch.db",
        "SELECT h.id, e.package, e.manifest_sha256, e.status, e.note FROM hits h "
        "LEFT JOIN evidence e ON e.hit_id = h.id WHERE h.site = 'collect'",
    )


def test_every_flagged_collect_hit_has_a_complete_package(evidence_data: Path) -> None:
    rows = _evidence(evidence_data)
    assert rows
    assert [(hit, status, note) for hit, _, _, status, note in rows if status != "ok"] == []
    for _, package, manifest_sha, _, _ in rows:
        with zipfile.ZipFile(evidence_data / "evidence" / package) as archive:
            assert sha256_bytes(archive.read("datapackage.json")) == manifest_sha
            assert verify_package(archive, expected_manifest=manifest_sha) == []


def test_package_holds_screenshot_warc_and_capture_record(evidence_data: Path) -> None:
    hit_id, package, _, _, _ = _evidence(evidence_data)[0]
    with zipfile.ZipFile(evidence_data / "evidence" / package) as archive:
        names = set(archive.namelist())
        assert {"pages/pages.jsonl", "indexes/index.cdx.gz", "archive/evidence.warc.gz"} <= names
        assert archive.read("logs/screenshot.png").startswith(b"\x89PNG")
        record = json.loads(archive.read("logs/capture.json"))
        warc = archive.read("archive/evidence.warc.gz")
    assert hit_id in [hit["hit_id"] for hit in record["hits"]]
    fetch = record["crawler_fetch"]
    assert fetch["requested_url"].startswith("http://127.0.0.1:")
    assert fetch["server_ip"] == "127.0.0.1" and fetch["http_status"] == 200
    assert fetch["response_headers"] and "AdWatch" in fetch["user_agent"]
    assert record["browser_capture"]["loaded_completely"] is True
    assert record["browser_capture"]["browser"].startswith("Chromium")
    assert record["capture_started"]["beijing"].endswith("+08:00")
    assert record["capture_finished"]["utc"].endswith("+00:00")
    types = [r.rec_type for r in ArchiveIterator(io.BytesIO(warc))]
    assert types == ["warcinfo", "request", "response", "resource"]


def test_sites_left_out_of_evidence_sites_get_none(evidence_data: Path) -> None:
    rows = query(
        evidence_data / "adwatch.db",
        "SELECT count(*) FROM evidence e JOIN hits h ON h.id = e.hit_id WHERE h.site != 'collect'",
    )
    assert rows == [(0,)]

"""Export hits for the inspection corps (稽查总队): one zip with packages, PDF report, CSV index, custody, manifest.

Bundle layout::

    packages/<site>-<key>.wacz   evidence package of each ad version (as captured)
    report.pdf                   取证报告, Chinese, printed by Chromium
    index.csv                    one row per hit (UTF-8 with BOM, opens in Excel)
    custody.json                 who exported it, when, from which installation
    manifest.json                every file above with its SHA-256 and size
    manifest.sha256              SHA-256 of manifest.json (``sha256sum -c`` format)
    signature/manifest.sig       optional: signature over manifest.json's digest
    signature/public_key.pem     optional: the key that checks it
    signature/timestamp.tsr      optional: RFC 3161 timestamp of manifest.json's digest
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.exceptions import EvidenceError
from crawler.items import document_text
from evidence.browser import require_chromium
from evidence.config import EvidenceConfig
from evidence.custody import custody_record
from evidence.manifest import sha256_bytes
from evidence.package import MANIFEST, verify_package
from evidence.report import ReportEntry, render_html, render_pdf
from evidence.signing import request_timestamp, sign_digest
from evidence.store import EvidenceRow, EvidenceStore
from indexer.sqlite import SqliteStore

BUNDLE_FORMAT = "adwatch-evidence-bundle/1"
INDEX_COLUMNS = (
    "hit_id",
    "site",
    "url",
    "rule_id",
    "law",
    "article",
    "severity",
    "matched",
    "start",
    "end",
    "evidence_status",
    "package",
    "manifest_sha256",
    "fetched_at",
    "review_status",
)


@dataclass(frozen=True)
class ExportResult:
    path: Path
    hits: int
    packages: int
    missing: list[str]
    signed: bool
    timestamped: bool


def export_bundle(
    config: EvidenceConfig,
    hit_ids: list[str],
    output: Path,
    operator: str,
    case_id: str = "",
    people: dict[str, Any] | None = None,
) -> ExportResult:
    """Write the bundle for ``hit_ids`` to ``output``; raise EvidenceError for unknown hits or altered packages.

    ``people``: for a case, who confirmed, asked for and approved it (from the case register), for custody.json.
    """
    with SqliteStore(config.db_path) as store, EvidenceStore(config.db_path) as evidence:
        entries = _entries(config, store, evidence, hit_ids)
    files: dict[str, bytes] = {}
    for entry in entries:
        if entry.source is not None:
            files[entry.package] = entry.source.read_bytes()
    files["index.csv"] = _index_csv(entries)
    files["custody.json"] = _json(custody_record(operator, config.data_dir, hit_ids, case_id, people))
    executable = require_chromium(config.browser_path(), "ADWATCH_EVIDENCE_BROWSER")
    html = render_html(entries, json.loads(files["custody.json"]), _file_list(files))
    files["report.pdf"] = render_pdf(html, executable)
    manifest = _json(_manifest(files, entries))
    files["manifest.json"] = manifest
    files["manifest.sha256"] = f"{sha256_bytes(manifest)}  manifest.json\n".encode()
    files.update(_seal(config, bytes.fromhex(sha256_bytes(manifest))))
    _write_zip(output, files)
    missing = [h["hit_id"] for e in entries if e.status in ("missing", "none") for h in e.hits]
    return ExportResult(
        output,
        len(hit_ids),
        sum(1 for e in entries if e.package),
        missing,
        "signature/manifest.sig" in files,
        "signature/timestamp.tsr" in files,
    )


def _entries(
    config: EvidenceConfig, store: SqliteStore, evidence: EvidenceStore, hit_ids: list[str]
) -> list[ReportEntry]:
    """The report entries, one per ad version, in the order the hits were asked for."""
    unknown = [h for h in hit_ids if store.get_hit(h) is None]
    if unknown:
        raise EvidenceError(f"未知命中 unknown hit id(s): {', '.join(unknown)}")
    entries: dict[int, ReportEntry] = {}
    for identifier in dict.fromkeys(hit_ids):
        hit = store.get_hit(identifier)
        version = _version(store.conn, identifier)
        if version["id"] in entries:
            entries[version["id"]].hits.append(hit)
        else:
            entries[version["id"]] = _entry(config, version, hit, evidence)
    return list(entries.values())


def _version(conn: sqlite3.Connection, hit_id: str) -> sqlite3.Row:
    return conn.execute(
        "SELECT v.* FROM ad_versions v JOIN hits h ON h.version_id = v.id WHERE h.id = ?", (hit_id,)
    ).fetchone()


def _entry(config: EvidenceConfig, version: sqlite3.Row, hit: dict[str, Any], evidence: EvidenceStore) -> ReportEntry:
    document = document_text(version["title"], version["body"], json.loads(version["image_alts"]))
    entry = ReportEntry(
        title=version["title"],
        url=version["url"],
        site=hit["site"],
        fetched_at=version["fetched_at"],
        document=document,
        hits=[hit],
    )
    row = evidence.get(hit["hit_id"])
    if row is not None:
        _attach_package(config, entry, row)
    return entry


def _attach_package(config: EvidenceConfig, entry: ReportEntry, row: EvidenceRow) -> None:
    entry.status, entry.note = row.status, row.note
    if row.status == "missing" or not row.package:
        return
    path = config.evidence_dir / row.package
    try:
        with zipfile.ZipFile(path) as archive:
            problems = verify_package(archive, f"{row.package}!", row.manifest_sha256)
            if problems:
                raise EvidenceError(
                    "证据包自取证后已被改动，拒绝导出 package altered since capture, not exported: "
                    + "; ".join(map(str, problems))
                )
            entry.record = json.loads(archive.read("logs/capture.json"))
            entry.screenshot = (
                archive.read("logs/screenshot.png") if "logs/screenshot.png" in archive.namelist() else b""
            )
            entry.package_files = _package_files(archive)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise EvidenceError(f"证据包无法读取 cannot read evidence package {path}: {exc}") from exc
    entry.package, entry.source, entry.manifest_sha256 = _bundle_name(row.package), path, row.manifest_sha256


def _package_files(archive: zipfile.ZipFile) -> list[dict[str, Any]]:
    resources = json.loads(archive.read(MANIFEST))["resources"]
    listed = [{"path": r["path"], "bytes": r["bytes"], "sha256": r["hash"].removeprefix("sha256:")} for r in resources]
    manifest = archive.read(MANIFEST)
    return [*listed, {"path": MANIFEST, "bytes": len(manifest), "sha256": sha256_bytes(manifest)}]


def _bundle_name(package: str) -> str:
    return "packages/" + package.replace("/", "-")


def _index_csv(entries: list[ReportEntry]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(INDEX_COLUMNS)
    for entry in entries:
        for hit in entry.hits:
            values = {
                **hit,
                "evidence_status": entry.status,
                "package": entry.package,
                "manifest_sha256": entry.manifest_sha256,
            }
            writer.writerow([values.get(column, "") for column in INDEX_COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _json(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _file_list(files: dict[str, bytes]) -> list[dict[str, Any]]:
    return [{"path": name, "bytes": len(data), "sha256": sha256_bytes(data)} for name, data in files.items()]


def _manifest(files: dict[str, bytes], entries: list[ReportEntry]) -> dict[str, Any]:
    return {
        "format": BUNDLE_FORMAT,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": _file_list(files),
        "packages": [{"path": e.package, "manifest_sha256": e.manifest_sha256} for e in entries if e.package],
    }


def _seal(config: EvidenceConfig, digest: bytes) -> dict[str, bytes]:
    sealed = {}
    if config.signing_key is not None:
        signature, public_key = sign_digest(config.signing_key, digest)
        sealed["signature/manifest.sig"] = signature
        sealed["signature/public_key.pem"] = public_key
    if config.tsa_url:
        sealed["signature/timestamp.tsr"] = request_timestamp(config.tsa_url, digest)
    return sealed


def _write_zip(output: Path, files: dict[str, bytes]) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    staged = output.with_name(f".{output.name}.part")
    with zipfile.ZipFile(staged, "w") as archive:
        for name, data in files.items():
            packed = name.endswith((".wacz", ".pdf", ".png", ".tsr", ".sig"))
            archive.writestr(name, data, zipfile.ZIP_STORED if packed else zipfile.ZIP_DEFLATED)
    os.replace(staged, output)

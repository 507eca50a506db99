"""One flagged ad's evidence as a WACZ file, made by py-wacz so standard replay tools open it.

The WACZ holds ``archive/evidence.warc.gz`` (request, raw response, rendered
DOM), its CDXJ index, ``pages/pages.jsonl``, and the extra files — the
screenshot and the capture record — under ``logs/`` (py-wacz's place for files
that are not WARC).  ``datapackage.json`` lists every file with its SHA-256: it
is the package's manifest, and its own SHA-256 (also in
``datapackage-digest.json``) is stored with each hit.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path

from crawler.exceptions import EvidenceError
from evidence.manifest import Problem, check_members, sha256_bytes

MANIFEST = "datapackage.json"
MANIFEST_DIGEST = "datapackage-digest.json"
WARC_NAME = "evidence.warc.gz"

_wacz_lock = threading.Lock()  # py-wacz prints to stdout; one at a time, with stdout captured


def build_package(
    target: Path, write_warc: Callable[[Path], None], extras: dict[str, bytes], page_url: str, page_ts: str, title: str
) -> str:
    """Write the WACZ at ``target``: the WARC ``write_warc`` writes, plus ``extras`` (name → bytes).

    Returns the manifest's SHA-256.  Raises OSError when the evidence storage
    cannot be written (full, read-only, not a folder).
    """
    work = target.with_name(f".{target.name}.work")
    shutil.rmtree(work, ignore_errors=True)
    (work / "logs").mkdir(parents=True)
    try:
        warc = work / WARC_NAME
        write_warc(warc)
        for name, data in extras.items():
            (work / "logs" / name).write_bytes(data)
        pages = work / "pages.jsonl"
        pages.write_text(_pages_jsonl(page_url, page_ts, title), encoding="utf-8")
        staged = work / target.name
        _run_wacz(
            [
                "create",
                str(warc),
                "-o",
                str(staged),
                "-p",
                str(pages),
                "-c",
                "-l",
                str(work / "logs"),
                "--url",
                page_url,
                "--title",
                title[:200] or page_url,
            ]
        )
        os.replace(staged, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return manifest_sha256(target)


def _pages_jsonl(url: str, ts: str, title: str) -> str:
    header = {"format": "json-pages-1.0", "id": "pages", "title": "Pages"}
    page = {"id": "evidence", "url": url, "ts": ts, "title": title}
    return "\n".join(json.dumps(line, ensure_ascii=False) for line in (header, page)) + "\n"


def _run_wacz(args: list[str]) -> None:
    from wacz.main import main as wacz_main

    output = io.StringIO()
    with _wacz_lock, contextlib.redirect_stdout(output):
        status = wacz_main(args)
    if status:
        raise EvidenceError(f"py-wacz could not build the package: {output.getvalue().strip()[-500:]}")


def manifest_sha256(package: Path) -> str:
    with zipfile.ZipFile(package) as archive:
        return sha256_bytes(archive.read(MANIFEST))


def verify_package(archive: zipfile.ZipFile, prefix: str = "", expected_manifest: str = "") -> list[Problem]:
    """Check every file of a WACZ against its ``datapackage.json``, and that manifest against its digest."""
    try:
        manifest_bytes = archive.read(MANIFEST)
        manifest = json.loads(manifest_bytes)
        listed = {r["path"]: r["hash"].removeprefix("sha256:") for r in manifest["resources"]}
    except (KeyError, ValueError, TypeError, zipfile.BadZipFile, OSError) as exc:
        return [Problem(prefix + MANIFEST, "altered", f"manifest unreadable: {exc}")]
    actual = sha256_bytes(manifest_bytes)
    problems = check_members(archive, listed, prefix, ignore=(MANIFEST, MANIFEST_DIGEST))
    problems.extend(_check_digest(archive, actual, prefix, expected_manifest))
    return problems


def _check_digest(archive: zipfile.ZipFile, actual: str, prefix: str, expected: str) -> list[Problem]:
    """The manifest against its digest file and the hash recorded at capture: which of the two changed."""
    try:
        recorded = json.loads(archive.read(MANIFEST_DIGEST))["hash"].removeprefix("sha256:")
    except (KeyError, ValueError, TypeError, AttributeError, zipfile.BadZipFile, OSError) as exc:
        return [Problem(prefix + MANIFEST_DIGEST, "altered", f"unreadable: {exc}")]
    if expected and actual != expected:
        return [Problem(prefix + MANIFEST, "altered", f"sha256 {actual} ≠ recorded at capture {expected}")]
    if recorded != actual:
        altered = MANIFEST_DIGEST if expected else f"{MANIFEST} / {MANIFEST_DIGEST}"
        return [Problem(prefix + altered, "altered", f"{MANIFEST} sha256 {actual} ≠ {MANIFEST_DIGEST} {recorded}")]
    return []

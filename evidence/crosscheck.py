"""What a bundle says, said the same everywhere: every item captured, and the PDF stating what the data files hold.

The PDF 取证报告 is what a court reads; ``custody.json``, ``index.csv`` and the
manifest are what the hashes and the signature hold.  A bundle whose PDF names
another operator, case or package than its data files — or that holds an ad
nobody captured — does not verify.  The PDF's text comes from poppler's
``pdftotext``.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import zipfile
from typing import Any

from crawler.exceptions import EvidenceError
from evidence.manifest import Problem

REPORT = "report.pdf"
CUSTODY = "custody.json"
INDEX = "index.csv"
#: Evidence statuses of an item that was captured (``partial``: packaged, with the browser's notes).
CAPTURED = ("ok", "partial")
PDFTOTEXT_TIMEOUT = 60.0


def uncaptured(archive: zipfile.ZipFile) -> list[Problem]:
    """One problem per hit of ``index.csv`` without an evidence package."""
    try:
        rows = list(csv.DictReader(io.StringIO(archive.read(INDEX).decode("utf-8-sig"))))
    except (KeyError, UnicodeDecodeError, csv.Error, zipfile.BadZipFile, OSError):
        return []  # named missing or altered by the hash check
    return [Problem(INDEX, "uncaptured", f"命中 {row.get('hit_id', '')} 无证据包，未取证 hit without evidence "
                                         f"({row.get('evidence_status') or 'none'})")
            for row in rows if row.get("evidence_status") not in CAPTURED]


def pdf_text(data: bytes) -> str:
    """The text of a PDF, by poppler's ``pdftotext``."""
    executable = shutil.which("pdftotext")
    if executable is None:
        raise EvidenceError("未找到 pdftotext，无法核对 PDF（安装 poppler-utils） pdftotext not found")
    try:
        done = subprocess.run([executable, "-enc", "UTF-8", "-", "-"], input=data, capture_output=True,
                              timeout=PDFTOTEXT_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EvidenceError(f"pdftotext 运行失败 failed: {exc}") from exc
    return done.stdout.decode("utf-8", errors="replace") if done.returncode == 0 else ""


def report_facts(custody: dict[str, Any], packages: dict[str, str]) -> list[tuple[str, str]]:
    """(what, value) the PDF must state: from the custody record and the manifest's packages."""
    facts = [("导出人 exported by", custody.get("exported_by", "")), ("案件编号 case", custody.get("case_id", "")),
             ("导出时间 exported at", (custody.get("exported_at") or {}).get("beijing", "")),
             ("批准人 approved by", custody.get("approved_by", "")), ("移送说明 transfer note",
                                                                    custody.get("transfer_note", ""))]
    facts += [("命中编号 hit id", hit_id) for hit_id in custody.get("hit_ids", [])]
    facts += [("证据包 package", name.removeprefix("packages/")) for name in packages]
    facts += [("证据包哈希 package hash", digest) for digest in packages.values()]
    return [(what, str(value)) for what, value in facts if value]


def check_report(archive: zipfile.ZipFile, packages: dict[str, str]) -> list[Problem]:
    """The PDF against ``custody.json`` and the manifest: each fact they hold must stand in the PDF."""
    try:
        custody = json.loads(archive.read(CUSTODY))
        report = archive.read(REPORT)
    except (KeyError, ValueError, zipfile.BadZipFile, OSError):
        return []  # named missing or altered by the hash check
    text = "".join(pdf_text(report).split())
    if not text:
        return [Problem(REPORT, "mismatch", "PDF 无法读出文字 no text in the PDF")]
    return [Problem(REPORT, "mismatch", f"PDF 未载明{what}“{value}”，与 {CUSTODY} / manifest.json 不符")
            for what, value in report_facts(custody, packages) if "".join(value.split()) not in text]

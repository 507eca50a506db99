"""The detail page's pieces: the ad text cut at its hits, earlier versions as diffs, evidence, price history."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from crawler.exceptions import EvidenceError
from dashboards.services import Services
from evidence.store import EvidenceRow
from indexer.backend import HitQuery
from indexer.price_history import PriceHistory

SCREENSHOT = "logs/screenshot.png"
CAPTURE_RECORD = "logs/capture.json"


@dataclass
class Segment:
    """A run of the ad text; ``hits`` are the positions (in the page's hit list) of the hits covering it."""

    text: str
    hits: list[int] = field(default_factory=list)


def segments(text: str, spans: list[tuple[int, int]]) -> list[Segment]:
    """Cut ``text`` at every span boundary; each piece knows which spans cover it (spans may overlap)."""
    cuts = sorted({0, len(text), *(max(0, min(len(text), p)) for span in spans for p in span)})
    pieces = []
    for start, end in zip(cuts, cuts[1:], strict=False):
        covering = [i for i, (s, e) in enumerate(spans) if s <= start and end <= e and s < e]
        pieces.append(Segment(text[start:end], covering))
    return pieces


def diff(old: str, new: str) -> list[tuple[str, str]]:
    """``new`` against ``old`` as (op, text) runs: ``equal``, ``insert`` (only in new), ``delete`` (only in old)."""
    runs: list[tuple[str, str]] = []
    for op, a1, a2, b1, b2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op in ("delete", "replace"):
            runs.append(("delete", old[a1:a2]))
        if op in ("insert", "replace"):
            runs.append(("insert", new[b1:b2]))
        if op == "equal":
            runs.append(("equal", old[a1:a2]))
    return runs


def versions_with_diffs(versions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each version (newest first) with its diff against the one before it."""
    shown = []
    for index, version in enumerate(versions):
        before = versions[index - 1]["document"] if index else None
        shown.append({**version, "diff": diff(before, version["document"]) if before is not None else None})
    return list(reversed(shown))


def evidence_package(services: Services, hit_id: str) -> tuple[EvidenceRow | None, Path | None]:
    """The hit's evidence row and its package file, which must lie inside the evidence folder."""
    config = services.config.evidence
    row = services.evidence.get(hit_id)
    if row is None or row.status == "missing" or not row.package:
        return row, None
    root = config.evidence_dir.resolve()
    path = (root / row.package).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return row, None
    return row, path


def package_member(path: Path, name: str) -> bytes | None:
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.read(name) if name in archive.namelist() else None
    except (OSError, zipfile.BadZipFile) as exc:
        raise EvidenceError(f"证据包无法读取 cannot read evidence package {path.name}: {exc}") from exc


def capture_summary(path: Path) -> dict[str, Any]:
    """The capture record's times and fetch facts, for the detail page."""
    raw = package_member(path, CAPTURE_RECORD)
    if raw is None:
        return {}
    record = json.loads(raw)
    fetch = record.get("crawler_fetch", {})
    return {"started": record.get("capture_started", {}), "finished": record.get("capture_finished", {}),
            "final_url": fetch.get("final_url", ""), "http_status": fetch.get("http_status", ""),
            "server_ip": fetch.get("server_ip", ""), "fetched_at": fetch.get("fetched_at", ""),
            "notes": record.get("notes", []), "has_screenshot": package_member(path, SCREENSHOT) is not None}


def price_series(services: Services, canonical_url: str) -> list[dict[str, object]]:
    row = services.store.conn.execute("SELECT id FROM ads WHERE canonical_url = ?", (canonical_url,)).fetchone()
    return PriceHistory(services.store).chart(row["id"]) if row else []


def hit_view(services: Services, hit: dict[str, Any]) -> dict[str, Any]:
    """Everything the detail page shows about one hit."""
    backend = services.backend
    same_ad = backend.search_hits(HitQuery(canonical_urls=(hit["canonical_url"],), current_only=False, size=200))
    on_version = sorted((h for h in same_ad.hits if h["content_hash"] == hit["content_hash"]),
                        key=lambda h: (h["start"], h["hit_id"]))
    version = services.store.hit_document(hit["hit_id"]) or {}
    document = version.get("document", "")
    seller_hits = []
    if hit.get("seller"):
        seller = backend.search_hits(HitQuery(sellers=(hit["seller"],), size=30))
        seller_hits = [h for h in seller.hits if h["canonical_url"] != hit["canonical_url"]][:15]
    row, package = evidence_package(services, hit["hit_id"])
    current = next((i for i, h in enumerate(on_version) if h["hit_id"] == hit["hit_id"]), -1)
    return {
        "hit": hit, "hits": on_version, "current": current, "document": document,
        "segments": segments(document, [(h["start"], h["end"]) for h in on_version]),
        "versions": versions_with_diffs(services.store.ad_versions(hit["canonical_url"])),
        "seller_hits": seller_hits, "evidence": row, "capture": capture_summary(package) if package else {},
        "prices": price_series(services, hit["canonical_url"]),
        "history": services.workflow.history(hit["hit_id"]), "case": services.workflow.case_of_hit(hit["hit_id"]),
        "assignee": services.workflow.assignees([hit["hit_id"]]).get(hit["hit_id"], ""),
    }

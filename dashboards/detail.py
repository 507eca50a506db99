"""The ad page's pieces: the ad text cut at its hits, earlier versions as diffs, evidence, price history, the
advertiser's other ads."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from crawler.exceptions import EvidenceError
from dashboards.leads import Lead, fetch_hits, group_hits
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


def lead_evidence(services: Services, hit_ids: list[str]) -> tuple[EvidenceRow | None, Path | None]:
    """The first evidence package among the hits (one capture holds the whole page), or the first row found."""
    found: EvidenceRow | None = None
    for hit_id in dict.fromkeys(hit_ids):
        row, path = evidence_package(services, hit_id)
        if path is not None:
            return row, path
        found = found or row
    return found, None


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


def advertiser_leads(services: Services, lead: Lead, limit: int = 15) -> list[Lead]:
    """The advertiser's other flagged ads (current versions), riskiest first."""
    if not lead.advertiser:
        return []
    rows = fetch_hits(services.backend, HitQuery(sellers=(lead.advertiser,)))
    return [other for other in group_hits(rows) if other.ad_key != lead.ad_key][:limit]


def hit_view(services: Services, hit: dict[str, Any]) -> dict[str, Any]:
    """Everything the ad page shows: the ad of ``hit`` (the version it was found on) and every hit on it."""
    workflow = services.workflow
    lead = workflow.lead_of(hit["hit_id"])
    version = services.store.hit_document(hit["hit_id"]) or {}
    document = version.get("document", "")
    spans = [(span, index) for index, h in enumerate(lead.hits) for span in h.spans]
    current = next((i for i, h in enumerate(lead.hits) if hit["hit_id"] in h.hit_ids), -1)
    row, package = lead_evidence(services, [hit["hit_id"], *lead.hit_ids])
    overridden = workflow.overridden(lead.hit_ids)
    return {
        "hit": hit, "lead": lead, "hits": lead.hits, "current": current, "document": document,
        "segments": [Segment(seg.text, sorted({spans[i][1] for i in seg.hits}))
                     for seg in segments(document, [span for span, _ in spans])],
        "overridden": {h.hit_id for h in lead.hits if overridden & set(h.hit_ids)},
        "versions": versions_with_diffs(services.store.ad_versions(hit["canonical_url"])),
        "advertiser_leads": advertiser_leads(services, lead), "evidence": row,
        "capture": capture_summary(package) if package else {}, "prices": price_series(services, hit["canonical_url"]),
        "history": workflow.lead_history(lead), "ad_decision": workflow.ad_decision(lead),
        "case": workflow.case_of_any(lead.hit_ids), "returned": workflow.returned_case(lead.hit_ids),
        "assignee": next(iter(workflow.assignees(lead.hit_ids).values()), ""),
    }

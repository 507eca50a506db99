"""Evidence rows and cases, in their own tables of the AdWatch SQLite store.

``evidence`` has one row per hit: the package (path relative to the evidence
folder), the SHA-256 of its manifest, and a status — ``ok``, ``partial``
(packaged, but the browser capture fell short) or ``missing`` (no package:
storage full or unwritable; the hit itself is kept).  ``cases`` groups hits
for export until the review console brings its own cases.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from crawler.exceptions import EvidenceError

SCHEMA = """
CREATE TABLE IF NOT EXISTS evidence (
    hit_id TEXT PRIMARY KEY,
    package TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    status TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cases (
    case_id TEXT NOT NULL,
    hit_id TEXT NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (case_id, hit_id)
);
"""

STATUSES = ("ok", "partial", "missing")


@dataclass(frozen=True)
class EvidenceRow:
    hit_id: str
    package: str
    manifest_sha256: str
    status: str
    note: str
    created_at: str


class EvidenceStore:
    """The evidence and cases tables, created on open beside the store's own tables."""

    def __init__(self, db_path: Path) -> None:
        try:
            db_path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(db_path, timeout=30, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise EvidenceError(f"Cannot open the evidence tables in {db_path}: {exc}") from exc

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> EvidenceStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(self, hit_ids: Iterable[str], package: str, manifest_sha256: str, status: str, note: str = "") -> None:
        """Set the evidence of ``hit_ids``; a later capture replaces an earlier one."""
        assert status in STATUSES, status
        now = datetime.now(UTC).isoformat(timespec="seconds")
        rows = [(h, package, manifest_sha256, status, note, now) for h in hit_ids]
        self.conn.executemany("INSERT OR REPLACE INTO evidence VALUES (?, ?, ?, ?, ?, ?)", rows)

    def get(self, hit_id: str) -> EvidenceRow | None:
        row = self.conn.execute("SELECT * FROM evidence WHERE hit_id = ?", (hit_id,)).fetchone()
        return EvidenceRow(*row) if row else None

    def captured(self, hit_ids: Iterable[str]) -> bool:
        """Whether every one of ``hit_ids`` already has a package (so a re-crawl need not capture again)."""
        ids = list(hit_ids)
        placeholders = ", ".join("?" * len(ids))
        count = self.conn.execute(
            f"SELECT count(*) FROM evidence WHERE status != 'missing' AND hit_id IN ({placeholders})", ids
        ).fetchone()[0]
        return bool(ids) and count == len(ids)

    def statuses(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT status, count(*) FROM evidence GROUP BY status").fetchall())

    def add_to_case(self, case_id: str, hit_ids: Iterable[str]) -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        self.conn.executemany("INSERT OR IGNORE INTO cases VALUES (?, ?, ?)", [(case_id, h, now) for h in hit_ids])

    def case_hits(self, case_id: str) -> list[str]:
        rows = self.conn.execute("SELECT hit_id FROM cases WHERE case_id = ? ORDER BY added_at, hit_id", (case_id,))
        return [row[0] for row in rows]

"""Evidence rows and cases, in their own tables of the AdWatch SQLite store.

``evidence`` has one row per hit: the package (path relative to the evidence
folder), the SHA-256 of its manifest, and a status — ``ok``, ``partial``
(packaged, but the browser capture fell short) or ``missing`` (no package:
storage full or unwritable; the hit itself is kept).  Cases live in the one
case register (:mod:`dashboards.cases`); the ``cases`` table an older version
kept here is read once, to be adopted by it, then dropped.
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
    """The evidence table, created on open beside the store's own tables."""

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

    def legacy_cases(self) -> dict[str, list[str]]:
        """The hits of each case an older ``adwatch evidence case add`` kept here (none once adopted)."""
        if not self.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'cases'").fetchone():
            return {}
        cases: dict[str, list[str]] = {}
        for case_id, hit_id in self.conn.execute("SELECT case_id, hit_id FROM cases ORDER BY added_at, rowid"):
            cases.setdefault(case_id, []).append(hit_id)
        return cases

    def drop_legacy_cases(self) -> None:
        self.conn.execute("DROP TABLE IF EXISTS cases")

"""The console's own SQLite file: accounts, sessions, assignments, decisions, cases and the audit log.

Ads and hits stay in the store and the search backend; what reviewers do lives
here.  The audit log is append-only: triggers refuse every UPDATE and DELETE.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path

from crawler.exceptions import StoreError
from indexer.sqlite import immediate_transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES users(username),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS login_failures (
    username TEXT NOT NULL,
    client TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_user ON login_failures(username, at);
CREATE TABLE IF NOT EXISTS assignments (
    hit_id TEXT PRIMARY KEY,
    assignee TEXT NOT NULL,
    assigned_by TEXT NOT NULL,
    assigned_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS assignments_assignee ON assignments(assignee);
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY,
    hit_id TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    action TEXT NOT NULL,
    reason_code TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    actor TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_hit ON decisions(hit_id, id);
CREATE TABLE IF NOT EXISTS cases (
    case_no TEXT PRIMARY KEY,
    hit_id TEXT NOT NULL,
    inspector TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    approved_by TEXT,
    approved_at TEXT
);
CREATE INDEX IF NOT EXISTS cases_hit ON cases(hit_id);
CREATE TABLE IF NOT EXISTS ad_decisions (
    id INTEGER PRIMARY KEY,
    ad_key TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    action TEXT NOT NULL,
    reason_code TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    actor TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ad_decisions_ad ON ad_decisions(ad_key, content_hash, id);
CREATE TABLE IF NOT EXISTS case_hits (
    case_no TEXT NOT NULL REFERENCES cases(case_no),
    hit_id TEXT NOT NULL,
    PRIMARY KEY (case_no, hit_id)
);
CREATE INDEX IF NOT EXISTS case_hits_hit ON case_hits(hit_id);
CREATE TABLE IF NOT EXISTS case_dispositions (
    id INTEGER PRIMARY KEY,
    case_no TEXT NOT NULL REFERENCES cases(case_no),
    kind TEXT NOT NULL,
    document_no TEXT NOT NULL,
    amount REAL,
    note TEXT NOT NULL DEFAULT '',
    actor TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS case_dispositions_case ON case_dispositions(case_no, id);
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
"""


#: Steps that bring a file made by an older console up to this schema, run once each in order on open
#: (``PRAGMA user_version`` counts those done).  1: a case holds many hits; an older case holds its one.
#: 2: a returned case keeps why, for the reviewer who asked.
MIGRATIONS = ("INSERT OR IGNORE INTO case_hits(case_no, hit_id) SELECT case_no, hit_id FROM cases",
              "ALTER TABLE cases ADD COLUMN returned_reason TEXT NOT NULL DEFAULT ''")


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class ConsoleDB:
    """One connection to the console's SQLite file, schema created on open."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(path, timeout=30, isolation_level=None)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.executescript(SCHEMA)
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"无法打开审核台数据库 cannot open the console database at {path}: {exc}") from exc

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate_transaction(self.conn)

    def _migrate(self) -> None:
        """Run the :data:`MIGRATIONS` this file has not had, all in one transaction."""
        with self.transaction() as conn:
            done = conn.execute("PRAGMA user_version").fetchone()[0]
            for number, statement in enumerate(MIGRATIONS[done:], start=done + 1):
                conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")

    def audit(self, actor: str, action: str, target: str, detail: str = "") -> None:
        """Append one line to the audit log (inside the caller's transaction, if any)."""
        self.conn.execute("INSERT INTO audit_log(at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
                          (utc_now(), actor, action, target, detail))

    def audit_entries(self, limit: int = 200, offset: int = 0) -> list[sqlite3.Row]:
        return self.conn.execute("SELECT * FROM audit_log ORDER BY id DESC LIMIT ? OFFSET ?",
                                 (limit, offset)).fetchall()

    def close(self) -> None:
        self.conn.close()

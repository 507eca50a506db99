"""The local journal: what could not reach the engine waits here, in order, until it is replayed.

A small SQLite file under the data folder (``index-journal.db``), written with
``synchronous=FULL`` so an entry survives a crash once ``append`` returns.
Two kinds of entries:

* ``pending`` items — the engine was down or busy; replayed in order (oldest
  first) by the pipeline once the engine answers again, or by ``adwatch index replay``;
* ``rejected`` documents — the engine refused them; kept with the engine's reason
  for a person to look at (``adwatch index status``) and retried only on request.

Replaying is idempotent: documents have stable ids, so an entry sent twice
(e.g. the engine died after writing it but before answering) is written once.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.items import AdItem
from indexer.backend import Rejection
from indexer.documents import item_from_json, item_to_json

SCHEMA = """CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    state TEXT NOT NULL CHECK (state IN ('pending', 'rejected')),
    payload TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    doc_id TEXT NOT NULL DEFAULT '',
    queued_at TEXT NOT NULL
)"""


@dataclass(frozen=True)
class Entry:
    seq: int
    state: str
    payload: Any
    reason: str
    doc_id: str

    def item(self) -> AdItem:
        return item_from_json(self.payload)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


class Journal:
    """Append-only queue of pending items and rejected documents, in one SQLite file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute(SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def _insert(self, rows: list[tuple[str, str, str, str]]) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.executemany(
                "INSERT INTO journal(state, payload, reason, doc_id, queued_at) VALUES (?, ?, ?, ?, ?)",
                [(*row, _now()) for row in rows])
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def append_items(self, items: Iterable[AdItem], reason: str = "") -> int:
        rows = [("pending", _dump(item_to_json(item)), reason, item.canonical_url) for item in items]
        self._insert(rows)
        return len(rows)

    def append_rejections(self, rejections: Iterable[Rejection]) -> int:
        rows = [("rejected", _dump(list(r.action)), r.reason, r.doc_id) for r in rejections]
        self._insert(rows)
        return len(rows)

    def entries(self, state: str, limit: int = 500, after: int = 0) -> list[Entry]:
        """The oldest ``limit`` entries in ``state`` after sequence number ``after``."""
        rows = self.conn.execute(
            "SELECT seq, state, payload, reason, doc_id FROM journal WHERE state = ? AND seq > ? ORDER BY seq LIMIT ?",
            (state, after, limit)).fetchall()
        return [Entry(seq, st, json.loads(payload), reason, doc_id) for seq, st, payload, reason, doc_id in rows]

    def remove(self, seqs: Iterable[int]) -> None:
        self.conn.executemany("DELETE FROM journal WHERE seq = ?", [(seq,) for seq in seqs])

    def set_reason(self, seq: int, reason: str) -> None:
        self.conn.execute("UPDATE journal SET reason = ? WHERE seq = ?", (reason, seq))

    def has_pending(self) -> bool:
        return self.conn.execute("SELECT 1 FROM journal WHERE state = 'pending' LIMIT 1").fetchone() is not None

    def backlog(self) -> dict[str, Any]:
        """Counts by state and the oldest pending entry's time: what ``adwatch index status`` shows."""
        counts = dict(self.conn.execute("SELECT state, count(*) FROM journal GROUP BY state").fetchall())
        oldest = self.conn.execute("SELECT min(queued_at) FROM journal WHERE state = 'pending'").fetchone()[0]
        return {"pending": counts.get("pending", 0), "rejected": counts.get("rejected", 0), "oldest_pending": oldest}

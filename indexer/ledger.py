"""The write ledger: what this machine has written to an engine's ads index, so writes need no read first.

To write an item the indexer must know what the index holds for its ad: the
content hash (unchanged content only updates ``last_seen``), the hits of the
previous version (to mark them no longer current), when each version was first
fetched (its hits stay in that month's index) and the ad's first sighting.
Asking the engine (``_mget``) before every write costs it a real-time read per
ad; the ledger answers the same from a local SQLite file instead.

The ledger records an ad's state only once the engine has acknowledged the ad
document (the item's commit marker), so it never runs ahead of the index.  It
is kept per physical index, by the index's UUID: an index that is dropped and
created again is a new index, and the ledger starts over for it.  A ledger that
has followed an index since its creation, or has read it in full once
(:meth:`EngineIndex.init` does this for an index created elsewhere), is
*complete*: an ad it does not know is new.  One ledger serves every process
on the machine; two machines writing the same index would each miss the
other's writes, so an index has one writing machine (the crawler, or the
fleet's ingest).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS indices (
    uuid TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    complete INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS ads (
    uuid TEXT NOT NULL,
    ad_key TEXT NOT NULL,
    state BLOB NOT NULL,
    PRIMARY KEY (uuid, ad_key)
) WITHOUT ROWID;
"""

#: ``IN (…)`` lists stay under SQLite's default limit of bound parameters.
_KEYS_PER_QUERY = 500


class Ledger:
    """Ad states by index UUID and ad key, in one SQLite file shared by the writing threads."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    @property
    def conn(self) -> sqlite3.Connection:
        """Opened on first use: a console that only reads never creates the file."""
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(SCHEMA)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def is_complete(self, uuid: str) -> bool:
        with self._lock:
            row = self.conn.execute("SELECT complete FROM indices WHERE uuid = ?", (uuid,)).fetchone()
        return bool(row and row[0])

    def start(self, uuid: str, name: str, states: Iterable[tuple[str, Mapping[str, Any]]] = ()) -> None:
        """Follow the index ``uuid`` from now on, knowing ``states``; forget earlier indices of that name.

        If another process started the ledger of ``uuid`` meanwhile, its states (and what it has recorded
        since) are newer than ``states``, which are then dropped.
        """
        with self._lock, self._transaction():
            if self.conn.execute("SELECT 1 FROM indices WHERE uuid = ? AND complete = 1", (uuid,)).fetchone():
                return
            stale = [row[0] for row in self.conn.execute(
                "SELECT uuid FROM indices WHERE name = ? AND uuid != ?", (name, uuid))]
            self.conn.executemany("DELETE FROM ads WHERE uuid = ?", [(old,) for old in stale])
            self.conn.executemany("DELETE FROM indices WHERE uuid = ?", [(old,) for old in stale])
            self.conn.execute("DELETE FROM ads WHERE uuid = ?", (uuid,))
            self.conn.execute("INSERT OR REPLACE INTO indices(uuid, name, complete) VALUES (?, ?, 0)", (uuid, name))
            self._put(uuid, states)
            self.conn.execute("UPDATE indices SET complete = 1 WHERE uuid = ?", (uuid,))
        if stale:
            logger.info("写入账本已忘记 %s 的旧索引 (%d 个) / ledger dropped %d older index(es) named %s",
                        name, len(stale), len(stale), name)

    def summary(self) -> list[dict[str, Any]]:
        """Each index the ledger follows: its name, how many ads it knows, and whether it is complete."""
        with self._lock:
            rows = self.conn.execute("""SELECT i.name, i.complete, count(a.ad_key) FROM indices i
                                        LEFT JOIN ads a ON a.uuid = i.uuid GROUP BY i.uuid ORDER BY i.name""")
            return [{"index": name, "ads": ads, "complete": bool(complete)} for name, complete, ads in rows]

    def abandon(self, uuid: str) -> None:
        """Stop trusting the ledger of ``uuid`` (a write the engine took could not be recorded)."""
        with self._lock:
            self.conn.execute("UPDATE indices SET complete = 0 WHERE uuid = ?", (uuid,))

    def states(self, uuid: str, keys: list[str]) -> dict[str, dict[str, Any]]:
        """The recorded state of each of ``keys`` the ledger knows."""
        found: dict[str, dict[str, Any]] = {}
        with self._lock:
            for start in range(0, len(keys), _KEYS_PER_QUERY):
                part = keys[start:start + _KEYS_PER_QUERY]
                marks = ",".join("?" * len(part))
                found.update((key, orjson.loads(state)) for key, state in self.conn.execute(
                    f"SELECT ad_key, state FROM ads WHERE uuid = ? AND ad_key IN ({marks})", (uuid, *part)))
        return found

    def record(self, uuid: str, states: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
        """Record the states the engine has acknowledged, in one transaction."""
        with self._lock, self._transaction():
            self._put(uuid, states)

    def _put(self, uuid: str, states: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
        self.conn.executemany("INSERT OR REPLACE INTO ads(uuid, ad_key, state) VALUES (?, ?, ?)",
                              [(uuid, key, orjson.dumps(state)) for key, state in states])

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

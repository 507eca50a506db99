"""The live record of crawls for the console's 运行监控 page: one row per crawl, kept current while it runs.

``crawler/extensions/crawl_monitor.py`` writes a row when a site's crawl opens,
its figures every ``ADWATCH_MONITOR_INTERVAL`` seconds, and its end; each crawl
also writes its own log file (``ADWATCH_MONITOR_LOG_DIR``), which the console
tails.  The console asks a crawl to stop by setting ``stop_requested``; the
crawl sees it at its next beat and closes.  The rows live in the AdWatch store
(table ``crawl_monitor``), beside ``crawl_runs``.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapy.settings import BaseSettings

from crawler.config import AdWatchConfig
from crawler.exceptions import StoreError

SCHEMA = """
CREATE TABLE IF NOT EXISTS crawl_monitor (
    id INTEGER PRIMARY KEY,
    site TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    beat REAL NOT NULL,
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    finish_reason TEXT NOT NULL DEFAULT '',
    pages INTEGER NOT NULL DEFAULT 0,
    items INTEGER NOT NULL DEFAULT 0,
    hits INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    log_path TEXT NOT NULL,
    stop_requested_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS crawl_monitor_site ON crawl_monitor(site, id);
"""
FIGURES = ("pages", "items", "hits", "errors")
#: The finish reason of a crawl stopped from the console.
STOPPED = "stopped"
#: A running crawl that has not reported for this many beats (and at least LOST_AFTER_SECONDS) is shown as lost.
LOST_AFTER_BEATS = 5
LOST_AFTER_SECONDS = 30.0


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class MonitorConfig:
    """The ADWATCH_MONITOR_* settings, read once."""

    enabled: bool
    interval: float
    log_dir: Path
    db_path: Path
    recent_runs: int
    quiet_ratio: float

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> MonitorConfig:
        base = AdWatchConfig.from_settings(settings)
        config = cls(
            enabled=settings.getbool("ADWATCH_MONITOR_ENABLED"),
            interval=settings.getfloat("ADWATCH_MONITOR_INTERVAL"),
            log_dir=Path(settings.get("ADWATCH_MONITOR_LOG_DIR") or base.data_dir / "logs" / "runs"),
            db_path=base.db_path,
            recent_runs=settings.getint("ADWATCH_MONITOR_RECENT_RUNS"),
            quiet_ratio=settings.getfloat("ADWATCH_MONITOR_QUIET_RATIO"),
        )
        config.check()
        return config

    def check(self) -> None:
        if self.interval <= 0:
            raise StoreError(f"ADWATCH_MONITOR_INTERVAL must be positive, got {self.interval}")
        if self.recent_runs < 1:
            raise StoreError(f"ADWATCH_MONITOR_RECENT_RUNS must be ≥ 1, got {self.recent_runs}")
        if not 0 < self.quiet_ratio < 1:
            raise StoreError(f"ADWATCH_MONITOR_QUIET_RATIO must be between 0 and 1, got {self.quiet_ratio}")


@dataclass(frozen=True)
class MonitoredRun:
    """One crawl as the monitor saw it last."""

    id: int
    site: str
    host: str
    pid: int
    beat: float
    started_at: str
    updated_at: str
    finished_at: str | None
    status: str
    finish_reason: str
    pages: int
    items: int
    hits: int
    errors: int
    log_path: str
    stop_requested_by: str

    @property
    def state(self) -> str:
        """``running``, ``finished``, ``stopping`` (asked to stop, not yet closed) or ``lost`` (no beat for long)."""
        if self.status != "running":
            return self.status
        silent = (utc_now() - datetime.fromisoformat(self.updated_at)).total_seconds()
        if silent > max(LOST_AFTER_SECONDS, LOST_AFTER_BEATS * self.beat):
            return "lost"
        return "stopping" if self.stop_requested_by else "running"

    @property
    def seconds(self) -> float:
        """How long it ran (or has run so far)."""
        end = datetime.fromisoformat(self.finished_at or self.updated_at)
        return max(0.0, (end - datetime.fromisoformat(self.started_at)).total_seconds())

    def as_json(self) -> dict[str, Any]:
        figures = {name: getattr(self, name) for name in FIGURES}
        return {"id": self.id, "site": self.site, "state": self.state, "finish_reason": self.finish_reason,
                "started_at": self.started_at, "finished_at": self.finished_at, "seconds": round(self.seconds),
                **figures}


class MonitorStore:
    """The ``crawl_monitor`` table, through one connection (WAL: readers never wait for the crawl)."""

    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"无法打开监控记录 cannot open the crawl monitor table in {path}: {exc}") from exc

    def close(self) -> None:
        self.conn.close()

    def open_run(self, site: str, beat: float, log_path: Path) -> int:
        now = utc_now().isoformat(timespec="seconds")
        cursor = self.conn.execute(
            """INSERT INTO crawl_monitor(site, host, pid, beat, started_at, updated_at, status, log_path)
               VALUES (?, ?, ?, ?, ?, ?, 'running', ?)""",
            (site, socket.gethostname(), os.getpid(), beat, now, now, str(log_path)))
        return int(cursor.lastrowid or 0)

    def report(self, run_id: int, figures: dict[str, int]) -> None:
        self.conn.execute(
            "UPDATE crawl_monitor SET pages = ?, items = ?, hits = ?, errors = ?, updated_at = ? WHERE id = ?",
            (*(figures[name] for name in FIGURES), utc_now().isoformat(timespec="seconds"), run_id))

    def close_run(self, run_id: int, figures: dict[str, int], reason: str) -> None:
        self.report(run_id, figures)
        self.conn.execute("UPDATE crawl_monitor SET status = 'finished', finish_reason = ?, finished_at = ? "
                          "WHERE id = ?", (reason, utc_now().isoformat(timespec="seconds"), run_id))

    def request_stop(self, run_id: int, actor: str) -> bool:
        """Ask a running crawl to stop; False if it is not running."""
        cursor = self.conn.execute("UPDATE crawl_monitor SET stop_requested_by = ? WHERE id = ? "
                                   "AND status = 'running'", (actor, run_id))
        return cursor.rowcount == 1

    def stop_requested(self, run_id: int) -> bool:
        row = self.conn.execute("SELECT stop_requested_by FROM crawl_monitor WHERE id = ?", (run_id,)).fetchone()
        return bool(row and row[0])

    def run(self, run_id: int) -> MonitoredRun | None:
        row = self.conn.execute("SELECT * FROM crawl_monitor WHERE id = ?", (run_id,)).fetchone()
        return MonitoredRun(**dict(row)) if row else None

    def runs(self, limit: int = 50) -> list[MonitoredRun]:
        """The running crawls first, then the latest finished ones."""
        rows = self.conn.execute("SELECT * FROM crawl_monitor ORDER BY status = 'running' DESC, id DESC LIMIT ?",
                                 (limit,))
        return [MonitoredRun(**dict(row)) for row in rows]


@contextmanager
def monitor_store(path: Path) -> Iterator[MonitorStore]:
    store = MonitorStore(path)
    try:
        yield store
    finally:
        store.close()


@dataclass(frozen=True)
class LogChunk:
    """Lines of a log from a byte offset on, and the offset to ask from next time."""

    lines: list[str]
    offset: int


def read_log(path: Path, offset: int = 0, max_bytes: int = 64 * 1024) -> LogChunk:
    """The complete lines written after ``offset``; at most ``max_bytes`` (the end of the log, on a first read)."""
    try:
        size = path.stat().st_size
    except OSError:
        return LogChunk([], offset)
    if offset > size:  # a new log under the old name: start again
        offset = 0
    start = max(offset, size - max_bytes)
    with path.open("rb") as log:
        log.seek(start)
        data = log.read(size - start)
    complete = data[: data.rfind(b"\n") + 1]
    lines = complete.decode("utf-8", "replace").splitlines()
    if start > offset and lines:
        lines = lines[1:]  # the first line was cut by the window
    return LogChunk(lines, start + len(complete))

"""Site health on the 运行监控 page, from the runs a real store records, and the log tail the page reads.

A site is flagged failing when its last crawl fetched nothing or had more failed requests than pages, and
"changed or gone quiet" when its last crawl found fewer items than ADWATCH_MONITOR_QUIET_RATIO of the median of
the runs before it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.config import project_settings
from crawler.monitor import MonitorConfig, read_log
from dashboards.monitor import FAILING, QUIET, items_series, site_health
from indexer.sqlite import SqliteStore

#: site → (pages, items, errors) of each run, oldest first.
RUNS = {
    "steady": [(50, 40, 0), (52, 42, 1), (50, 41, 0), (49, 39, 0), (51, 40, 0), (50, 38, 2)],
    "quiet": [(50, 40, 0), (52, 42, 0), (50, 41, 0), (49, 39, 0), (51, 40, 0), (12, 3, 0)],
    "down": [(50, 40, 0), (50, 40, 0), (0, 0, 6)],
    "new": [(20, 15, 0)],
}


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    store = SqliteStore(tmp_path / "adwatch.db")
    for site, runs in RUNS.items():
        for day, (pages, items, errors) in enumerate(runs, start=1):
            store.record_run({"site": site, "started_at": f"2026-11-{day:02d}T01:00:00+00:00",
                              "finished_at": f"2026-11-{day:02d}T01:10:00+00:00", "finish_reason": "finished",
                              "pages": pages, "items": items, "new_versions": 0, "unchanged": items, "hits": 0,
                              "errors": errors})
    return store


def _config(**overrides: object) -> MonitorConfig:
    return MonitorConfig.from_settings(project_settings(overrides))


def test_each_site_is_flagged_by_its_last_crawl_against_its_recent_level(store: SqliteStore) -> None:
    health = {h.site: h for h in site_health(store.conn, {"quiet": "沉寂商城"}, _config())}
    assert health["steady"].flags == [] and health["new"].flags == []
    assert health["quiet"].flags == [QUIET] and health["quiet"].title == "沉寂商城"
    assert (health["quiet"].last_items, health["quiet"].usual_items) == (3, 40)
    assert health["down"].flags == [FAILING]
    assert health["down"].last_ok_at == "2026-11-02T01:10:00+00:00"
    assert health["steady"].error_rate == pytest.approx(3 / 302)
    assert [h.site for h in site_health(store.conn, {}, _config())][:2] == ["down", "quiet"]  # flagged first


def test_the_quiet_ratio_is_a_setting(store: SqliteStore) -> None:
    lenient = {h.site: h for h in site_health(store.conn, {}, _config(ADWATCH_MONITOR_QUIET_RATIO=0.05))}
    assert lenient["quiet"].flags == []


def test_items_per_crawl_are_a_series_per_site_in_time_order(store: SqliteStore) -> None:
    series = {s["name"]: s["data"] for s in items_series(store.conn, {"steady": "稳定商城"})}
    assert [items for _, items in series["稳定商城"]] == [40, 42, 41, 39, 40, 38]
    assert series["down"][-1] == ["2026-11-03 09:10:00", 0]  # Beijing wall time


def test_the_log_tail_gives_complete_lines_from_an_offset(tmp_path: Path) -> None:
    log = tmp_path / "crawl.log"
    log.write_bytes("第一行 one\n第二行 two\n半行".encode())
    first = read_log(log)
    assert first.lines == ["第一行 one", "第二行 two"]
    with log.open("ab") as more:
        more.write(b" half\nthree\n")
    second = read_log(log, first.offset)
    assert second.lines == ["半行 half", "three"] and second.offset == log.stat().st_size
    assert read_log(log, second.offset).lines == []
    assert read_log(tmp_path / "missing.log", 5).lines == []


def test_a_first_read_of_a_long_log_gives_its_end(tmp_path: Path) -> None:
    log = tmp_path / "long.log"
    log.write_text("".join(f"line {n}\n" for n in range(10_000)), encoding="utf-8")
    chunk = read_log(log, 0, max_bytes=100)
    assert chunk.lines[-1] == "line 9999" and "line 0" not in chunk.lines and len(chunk.lines) < 15

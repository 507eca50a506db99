"""``adwatch index init|status|rebuild|replay`` as a real process, against the real node."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from indexer.backend import HitQuery, Review
from indexer.bodies import MAPPING_VERSION
from indexer.engine import EngineIndex
from indexer.journal import Journal
from indexer.sqlite import SqliteStore
from tests.indexer.conftest import drop, unique_prefix
from tests.indexer.items import catalogue
from tests.support.engines import EngineNode, free_port

REPO = Path(__file__).resolve().parents[2]


def adwatch_index(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "indexer.cli", *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)


def test_init_rebuild_status_and_replay(engine_node: EngineNode, tmp_path: Path) -> None:
    prefix = unique_prefix("cli")
    env = {"ADWATCH_DATA_DIR": str(tmp_path), "ADWATCH_INDEX": engine_node.index_url,
           "ADWATCH_INDEX_PREFIX": prefix, "ADWATCH_INDEX_REPLICAS": "0"}
    with SqliteStore(tmp_path / "adwatch.db") as store:
        store.save_items(catalogue())
        store.set_review(store.current_hits(sites=["hospital"])[0]["id"], Review("dismissed", "李审核", "非广告"))
    Journal(tmp_path / "index-journal.db").append_items(catalogue()[:1], "engine was down")

    version = f"v{MAPPING_VERSION}"
    assert version in adwatch_index(["init"], env).stdout
    rebuilt = adwatch_index(["rebuild"], env)
    assert rebuilt.returncode == 0 and "4 件 items" in rebuilt.stdout, rebuilt.stderr
    status = json.loads(adwatch_index(["status", "--json"], env).stdout)
    assert status["engine"]["reachable"] and status["backlog"]["pending"] == 1
    assert {row["index"]: row["docs"] for row in status["engine"]["indices"]} == {
        f"{prefix}-ads-{version}": 4, f"{prefix}-hits-{version}-2026.11": 5}
    assert status["ledger"]["indices"] == [{"index": f"{prefix}-ads-{version}", "ads": 4, "complete": True}]
    printed = adwatch_index(["status"], env).stdout
    assert f"写入账本 write ledger: {prefix}-ads-{version} 4 个广告 ads · 完整 complete" in printed
    replayed = adwatch_index(["replay"], env)
    assert replayed.returncode == 0 and "replayed 1" in replayed.stdout
    index = EngineIndex(engine_node.client(), prefix=prefix)
    index.refresh()
    assert index.counts() == {"ads": 4, "hits": 5}
    assert [h["reviewer"] for h in index.search_hits(HitQuery(statuses=("dismissed",))).hits] == ["李审核"]
    drop(index)


def test_an_unreachable_engine_is_one_readable_line(tmp_path: Path) -> None:
    env = {"ADWATCH_DATA_DIR": str(tmp_path), "ADWATCH_INDEX": f"opensearch+http://127.0.0.1:{free_port()}"}
    status = adwatch_index(["status"], env)
    assert status.returncode == 0 and "引擎不可达 engine unreachable" in status.stdout
    replay = adwatch_index(["replay"], env)
    assert replay.returncode == 0 and "replayed 0" in replay.stdout
    init = adwatch_index(["init"], env)
    assert init.returncode == 1 and init.stderr.startswith("Error: EngineUnavailable")
    assert "Traceback" not in init.stderr

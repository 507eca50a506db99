"""Benchmark: the review console's queue page against the bare backend query behind it, with 100k hits.

    .venv/bin/python bench/bench_console.py                  # SQLite, then OpenSearch (a node it starts itself)
    .venv/bin/python bench/bench_console.py --backend sqlite --hits 20000

For each backend the same 100 000 hits (bench_index's synthetic ads: 25 000
ads, four hits each, 28 days, six sites) are loaded; the console is served by
uvicorn on a free port; a logged-in reviewer asks for queue pages (the default
pending queue, a category filter, Chinese full text, page 20).  The page's
server time is the console's own ``Server-Timing`` (session check, filters,
the backend query, the assignment lookup, rendering 50 rows); the bare query
is ``search_hits`` with the very ``HitQuery`` the page builds, timed in this
process on its own connection.  Rounds alternate page and query.  Target:
page / bare ≤ 1.5.  It prints figures; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from bench_index import make_items  # noqa: E402

from crawler.config import project_settings  # noqa: E402
from dashboards.accounts import Accounts  # noqa: E402
from dashboards.app import create_app  # noqa: E402
from dashboards.config import ConsoleConfig  # noqa: E402
from dashboards.db import ConsoleDB  # noqa: E402
from dashboards.queue import QueueFilter, hit_query  # noqa: E402
from dashboards.services import Services  # noqa: E402
from indexer.clients import OpenSearchClient  # noqa: E402
from indexer.engine import EngineIndex  # noqa: E402
from indexer.sqlite import SqliteStore  # noqa: E402
from tests.support.engines import OpenSearchNode, free_port  # noqa: E402

PASSWORD = "bench-password-1"
SCENARIOS = {
    "待审队列 pending queue": {},
    "类别筛选 category": {"category": "drug", "site": "mall"},
    "全文 text 糖尿病": {"q": "糖尿病"},
    "第20页 page 20": {"page": "20"},
}
PREFIX = "bench-console"


def load_store(db_path: Path, hit_count: int) -> list:
    items = make_items(hit_count)
    with SqliteStore(db_path) as store:
        for start in range(0, len(items), 500):
            store.save_items(items[start:start + 500])
    return items


def load_engine(url: str, items: list) -> None:
    index = EngineIndex(OpenSearchClient(url, timeout=120), prefix=PREFIX, replicas=0)
    index.client.request("DELETE", f"/{PREFIX}-*", ignore=(404,))
    index.init()
    for start in range(0, len(items), 500):
        result = index.index_items(items[start:start + 500])
        assert not result.deferred and not result.rejected
    index.refresh()
    index.close()


class Server:
    def __init__(self, config: ConsoleConfig) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(create_app(config), host="127.0.0.1", port=self.port,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join()


def login(client: httpx.Client) -> None:
    form = client.get("/login").text
    token = form.split('name="login_csrf" value="', 1)[1].split('"', 1)[0]
    response = client.post("/login", data={"username": "bench", "password": PASSWORD, "login_csrf": token})
    assert response.status_code == 303, response.text[:300]


def server_ms(response: httpx.Response) -> float:
    assert response.status_code == 200, response.text[:300]
    return float(response.headers["server-timing"].split("dur=", 1)[1])


def measure(config: ConsoleConfig, rounds: int) -> dict[str, tuple[float, float, int]]:
    """Per scenario: median page server time (ms), median bare query time (ms), hits matched."""
    server = Server(config)
    services = Services(config)  # the bench's own connection to the same backend
    results = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=120) as client:
            login(client)
            for name, params in SCENARIOS.items():
                filters = QueueFilter.from_params(params)
                query = hit_query(services, filters, "bench", config.page_size)
                path = "/queue?" + urlencode(params)
                pages, bares, total = [], [], 0
                for round_number in range(rounds + 3):
                    started = time.perf_counter()
                    total = services.backend.search_hits(query).total
                    bare = (time.perf_counter() - started) * 1000
                    page = server_ms(client.get(path))
                    if round_number >= 3:  # the first rounds warm caches on both sides
                        pages.append(page)
                        bares.append(bare)
                results[name] = (statistics.median(pages), statistics.median(bares), total)
    finally:
        services.close()
        server.stop()
    return results


def console_config(data_dir: Path, **overrides: object) -> ConsoleConfig:
    config = ConsoleConfig.from_settings(project_settings({"ADWATCH_DATA_DIR": str(data_dir), "ADWATCH_DB_PATH": "",
                                                           "ADWATCH_CONSOLE_DB_PATH": "", **overrides}))
    accounts = Accounts(ConsoleDB(config.db_path))
    if accounts.get("bench") is None:
        accounts.add("bench", PASSWORD, "reviewer")
    accounts.db.close()
    return config


def report(backend: str, results: dict[str, tuple[float, float, int]]) -> dict[str, float]:
    print(f"\n{backend}: queue page server time vs the bare backend query (medians, ms)")
    ratios = {}
    for name, (page, bare, total) in results.items():
        ratios[name] = page / bare
        print(f"  {name:<24} {total:>7} hits   page {page:8.1f}   bare {bare:8.1f}   ratio {page / bare:5.2f}")
    worst = max(ratios.values())
    print(f"  worst ratio {worst:.2f} (target ≤ 1.5)")
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hits", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--backend", choices=("sqlite", "opensearch", "both"), default="both")
    parser.add_argument("--url", help="an OpenSearch to use (default: start one with indexer.testing)")
    args = parser.parse_args()
    summary = {}
    with tempfile.TemporaryDirectory(prefix="adwatch-bench-console-") as folder:
        data_dir = Path(folder)
        started = time.perf_counter()
        items = load_store(data_dir / "adwatch.db", args.hits)
        print(f"loaded {args.hits} hits into SQLite in {time.perf_counter() - started:.0f} s")
        if args.backend in ("sqlite", "both"):
            summary["sqlite"] = report("SQLite", measure(console_config(data_dir, ADWATCH_INDEX=""), args.rounds))
        if args.backend in ("opensearch", "both"):
            node = None if args.url else OpenSearchNode(heap="1g")
            url = args.url or node.start().url
            try:
                started = time.perf_counter()
                load_engine(url, items)
                print(f"indexed {args.hits} hits into OpenSearch in {time.perf_counter() - started:.0f} s")
                config = console_config(data_dir, ADWATCH_INDEX=f"opensearch+{url}", ADWATCH_INDEX_PREFIX=PREFIX,
                                        ADWATCH_INDEX_REPLICAS=0)
                summary["opensearch"] = report("OpenSearch", measure(config, args.rounds))
            finally:
                if node:
                    node.remove()
    print(json.dumps({backend: {k: round(v, 3) for k, v in ratios.items()} for backend, ratios in summary.items()},
                     ensure_ascii=False))


if __name__ == "__main__":
    main()

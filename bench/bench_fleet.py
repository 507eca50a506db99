"""Benchmark: two fleet workers plus the ingest vs one local crawl of the same sandbox sites, on this machine.

Run:  .venv/bin/python bench/bench_fleet.py  [--rounds 1] [--workers 2] [--memory-urls 100000]

1. Starts the sandbox web and a real redis-server on free ports.
2. Local: crawls every plain-HTTP sandbox site through the full pipeline in one process, as
   bench/bench_crawl.py does; pages/s from the first spider opening to the last closing.
3. Fleet: starts the workers and the ingest (``adwatch fleet …`` processes), waits until they
   are up, then hands the same sites to the fleet; pages/s from the hand-out until the fleet is
   idle (every page fetched, every item stored), counting the local crawl's pages (the fleet's
   extra robots.txt fetches, one per worker and site, are not counted).  Same sandbox, same run:
   the ratio is printed.
4. Ingest: with the ingest stopped, the fleet crawls again and fills the stream; a fresh ingest
   then stores it: items/s from its first stored item to the empty stream.
5. Redis memory: ``--memory-urls`` requests as the worker serialises them queued, and as many URLs
   in a Bloom filter sized for them, each read from ``INFO memory``; printed per million.
Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_crawl import plain_http_sites, run_worker  # noqa: E402

from crawler.config import project_settings  # noqa: E402
from crawler.fleet.config import FleetConfig  # noqa: E402
from crawler.fleet.queue import INGEST_GROUP, FleetQueue, Outgoing, Politeness  # noqa: E402
from crawler.fleet.status import read_state  # noqa: E402
from tests.support.redis_server import RedisServer  # noqa: E402

TIMEOUT = 600.0


class BenchFleet:
    def __init__(self, server: RedisServer, base_urls: dict[str, str], data_dir: str) -> None:
        self.queue = FleetQueue(FleetConfig.from_settings(project_settings({"ADWATCH_FLEET_URL": server.url})))
        self.env = {**os.environ, "ADWATCH_DATA_DIR": data_dir, "ADWATCH_EVIDENCE_ENABLED": "false",
                    "ADWATCH_FLEET_URL": server.url, "ADWATCH_BASE_URLS": json.dumps(base_urls),
                    "ADWATCH_FLEET_HEARTBEAT": "0.5", "LOG_LEVEL": "WARNING"}
        self.env.pop("ADWATCH_DB_PATH", None)
        self.sites = sorted(base_urls)
        self.log = open(Path(data_dir) / "fleet.log", "ab")
        self.processes: list[subprocess.Popen[bytes]] = []

    def spawn(self, *args: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen([sys.executable, str(REPO / "adwatch.py"), "fleet", *args], cwd=REPO,
                                   env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def start_workers(self, count: int) -> None:
        sites = [arg for site in self.sites for arg in ("--site", site)]
        for _ in range(count):
            self.spawn("worker", *sites)
        self.wait(lambda s: len(s.workers) == count, "workers up")

    def start_ingest(self) -> subprocess.Popen[bytes]:
        process = self.spawn("ingest")
        self.wait(lambda _: self._consumers() > 0, "ingest up")
        return process

    def _consumers(self) -> int:
        try:
            groups = self.queue.redis.xinfo_groups(self.queue.key("items"))
        except Exception:
            return 0
        return sum(g["consumers"] for g in groups if g["name"].decode() == INGEST_GROUP)

    def wait(self, condition, what: str):
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            self.check_alive(what)
            state = read_state(self.queue)
            if condition(state):
                return state
            time.sleep(0.02)
        raise RuntimeError(f"fleet never {what}; see {self.log.name}")

    def check_alive(self, what: str) -> None:
        for process in self.processes:
            if process.returncode is None and process.poll() is not None:
                self.log.flush()
                tail = Path(self.log.name).read_text(errors="replace")[-3000:]
                raise RuntimeError(f"a fleet process exited with {process.returncode} before {what}:\n{tail}")

    def crawl(self) -> None:
        for site in self.sites:
            self.queue.start_crawl(site)

    def fetched(self):
        return self.wait(lambda s: bool(s.sites) and not any(x.queued or x.in_flight for x in s.sites), "fetched all")

    def pages(self) -> int:
        time.sleep(1.5)  # three heartbeats: every worker's count is published
        return sum(w.pages for w in read_state(self.queue).workers)

    def cpu_seconds(self) -> float:
        """User and system CPU time of the fleet's processes so far (Linux /proc)."""
        total = 0
        for process in self.processes:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self, process: subprocess.Popen[bytes] | None = None) -> None:
        for each in [process] if process else self.processes:
            each.terminate()
            each.wait(timeout=120)


def fleet_round(server: RedisServer, base_urls: dict[str, str], workers: int) -> tuple[int, float, int, float]:
    with tempfile.TemporaryDirectory() as data_dir:
        fleet = BenchFleet(server, base_urls, data_dir)
        try:
            fleet.start_workers(workers)
            ingest = fleet.start_ingest()
            cpu_before, started = fleet.cpu_seconds(), time.monotonic()
            fleet.crawl()
            fleet.fetched()
            fetched = time.monotonic() - started
            fleet.wait(lambda s: s.idle and bool(s.sites), "idle")
            seconds = time.monotonic() - started
            cpu = fleet.cpu_seconds() - cpu_before
            print(f"  fleet: every page fetched after {fetched:.2f} s, every item stored after {seconds:.2f} s; "
                  f"its processes busy {cpu:.1f} CPU-s ({cpu / seconds:.2f} of 2 cores)", flush=True)
            pages = fleet.pages()
            fleet.stop(ingest)
            fleet.crawl()
            waiting = fleet.fetched().items_waiting
            fleet.spawn("ingest")
            first = fleet.wait(lambda s: s.items_waiting < waiting, "stored a first item")
            ingest_started = time.monotonic()
            fleet.wait(lambda s: s.items_waiting == 0, "stored everything")
            ingest_seconds = time.monotonic() - ingest_started
        finally:
            fleet.stop()
            server.stop()
            server.start()  # an empty Redis for the next round (no AOF, no snapshot)
    return pages, seconds, first.items_waiting, ingest_seconds


def memory_per_million(server: RedisServer, urls: int) -> tuple[float, float]:
    """Bytes of Redis memory per million queued requests and per million URLs in the filter."""
    from scrapy import Request

    config = FleetConfig.from_settings(project_settings({"ADWATCH_FLEET_URL": server.url,
                                                         "ADWATCH_FLEET_SEEN_CAPACITY": urls}))
    queue = FleetQueue(config)
    queue.redis.flushall()
    free = Politeness(1, 0)
    base = queue.redis.info("memory")["used_memory"]
    for start in range(0, urls, 5000):
        batch = []
        for n in range(start, min(start + 5000, urls)):
            request = Request(f"http://mall.example.cn/item/{n}.html?utm_source=list", meta={"depth": 3})
            data = request.to_dict()
            data["callback"], data["errback"] = "parse", "on_error"
            batch.append(Outgoing(pickle.dumps(data, protocol=4), n.to_bytes(20, "big"), force=True))
        queue.settle("mall", "", [], batch, free)
    queued = queue.redis.info("memory")["used_memory"] - base
    queue.redis.flushall()
    base = queue.redis.info("memory")["used_memory"]
    for start in range(0, urls, 5000):
        fingerprints = [os.urandom(20) for _ in range(start, min(start + 5000, urls))]
        queue.settle("mall", "", [], [Outgoing(b"", f) for f in fingerprints], Politeness(1, 0, max_pages=1))
    seen = queue.redis.info("memory")["used_memory"] - base
    queue.redis.flushall()
    return queued * 1_000_000 / urls, seen * 1_000_000 / urls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-urls", type=int, default=100_000)
    args = parser.parse_args()

    from sandbox.server import SandboxWeb

    local_rates, fleet_rates, ingest_rates = [], [], []
    with SandboxWeb(port_base=None, slow_seconds=0.0) as web, RedisServer() as server:
        base_urls = {site: web.base_urls[site] for site in plain_http_sites()}
        for round_no in range(1, args.rounds + 1):
            with tempfile.TemporaryDirectory() as data_dir:
                pages, seconds = run_worker("full", {"base_urls": base_urls, "data_dir": data_dir})
            local_rates.append(pages / seconds)
            fleet_pages, fleet_seconds, items, ingest_seconds = fleet_round(server, base_urls, args.workers)
            # The same work on both sides: the local crawl's pages (a fleet fetches robots.txt once per worker too).
            fleet_rates.append(pages / fleet_seconds)
            ingest_rates.append(items / ingest_seconds)
            print(f"round {round_no}: local crawl {pages} pages in {seconds:.2f} s = {local_rates[-1]:.1f} pages/s; "
                  f"fleet ({args.workers} workers + ingest) the same {pages} pages ({fleet_pages} with each worker's "
                  f"robots.txt) in {fleet_seconds:.2f} s = "
                  f"{fleet_rates[-1]:.1f} pages/s; ingest alone {items} items in {ingest_seconds:.2f} s = "
                  f"{ingest_rates[-1]:.1f} items/s", flush=True)
        queued, seen = memory_per_million(server, args.memory_urls)
    local, fleet = statistics.median(local_rates), statistics.median(fleet_rates)
    print(f"median local crawl: {local:.1f} pages/s")
    print(f"median fleet:       {fleet:.1f} pages/s")
    print(f"ratio fleet/local: {fleet / local:.2f}  (target ≥ 1.3)")
    print(f"median ingest: {statistics.median(ingest_rates):.1f} items/s")
    print(f"Redis memory per million queued requests: {queued / 2**20:.0f} MiB; "
          f"per million URLs in the duplicate filter (at 0.1%): {seen / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()

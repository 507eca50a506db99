"""Benchmark: the full AdWatch pipeline vs a bare Scrapy spider over the same sandbox pages.

Run:  .venv/bin/python bench/bench_crawl.py  [--rounds 3]

1. Starts the sandbox web on free ports.
2. Crawls every plain-HTTP sandbox site through the full pipeline (profiles,
   link following, encoding, WARC archive, normalise, rule check, SQLite store,
   price history) in a fresh data folder, and lists the URLs it fetched from its
   WARC files.  Sites rendered in Chromium (and evidence capture) are measured
   by bench/bench_render.py instead: a bare spider cannot fetch "the same" pages.
3. Fetches exactly those URLs with a bare Scrapy spider that does nothing with
   them, with the same concurrency and robots.txt handling.
Each crawl runs in its own process (Twisted's reactor starts once per process).
Pages/s is pages divided by the time from the first spider opening to the last
closing.  Prints both rates and the ratio (target ≥ 1.0, issue #18); asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _rate(stats_list: list[dict]) -> tuple[int, float]:
    pages = sum(s.get("response_received_count", 0) for s in stats_list)
    start = min(s["start_time"] for s in stats_list)
    finish = max(s["finish_time"] for s in stats_list)
    return pages, finish - start


def worker_full(base_urls: dict[str, str], data_dir: str) -> list[dict]:
    from crawler.run import crawl_sites

    # Evidence capture is a browser visit per flagged page, measured by bench/bench_render.py, not here.
    overrides = {"ADWATCH_BASE_URLS": base_urls, "ADWATCH_DATA_DIR": data_dir, "LOG_LEVEL": "WARNING",
                 "ADWATCH_EVIDENCE_ENABLED": False}
    return [r.stats for r in crawl_sites(sorted(base_urls), overrides)]


def worker_bare(urls: list[str]) -> list[dict]:
    import scrapy
    from scrapy.crawler import CrawlerProcess

    class BareSpider(scrapy.Spider):
        name = "bare"

        async def start(self):
            for url in urls:
                yield scrapy.Request(url, callback=self.parse, dont_filter=True)

        def parse(self, response):
            return None

    process = CrawlerProcess(
        {
            "LOG_LEVEL": "WARNING",
            "ROBOTSTXT_OBEY": True,
            "CONCURRENT_REQUESTS": 32,
            "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
            "TELNETCONSOLE_ENABLED": False,
            "COOKIES_ENABLED": False,
            "HTTPERROR_ALLOW_ALL": True,
        }
    )
    crawler = process.create_crawler(BareSpider)
    process.crawl(crawler)
    process.start()
    return [dict(crawler.stats.get_stats())]


def fetched_urls(raw_dir: Path) -> list[str]:
    from warcio.archiveiterator import ArchiveIterator

    urls = []
    for path in sorted(raw_dir.glob("*.warc.gz")):
        with path.open("rb") as handle:
            urls += [
                r.rec_headers.get_header("WARC-Target-URI")
                for r in ArchiveIterator(handle)
                if r.rec_type == "response" and not r.rec_headers.get_header("WARC-Target-URI").endswith("/robots.txt")
            ]
    return urls


def plain_http_sites() -> list[str]:
    from crawler.config import project_settings
    from crawler.spiderloader import ProfileSpiderLoader

    profiles = ProfileSpiderLoader(project_settings()).profiles
    return sorted(name for name, p in profiles.items() if p.group == "sandbox" and not p.renders)


def run_worker(kind: str, payload: dict) -> tuple[int, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", kind],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout
    return _rate(json.loads(out.strip().splitlines()[-1]))


def _worker_main(kind: str) -> None:
    payload = json.loads(sys.stdin.read())
    stats = worker_full(payload["base_urls"], payload["data_dir"]) if kind == "full" else worker_bare(payload["urls"])
    for s in stats:
        for key in ("start_time", "finish_time"):
            s[key] = s[key].timestamp()
    print(json.dumps([{k: v for k, v in s.items() if isinstance(v, (int, float, str))} for s in stats]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", choices=["full", "bare"])
    args = parser.parse_args()
    if args.worker:
        _worker_main(args.worker)
        return

    from sandbox.server import SandboxWeb

    full_rates, bare_rates = [], []
    with SandboxWeb(port_base=None, slow_seconds=0.5) as web:
        for round_no in range(1, args.rounds + 1):
            with tempfile.TemporaryDirectory() as data_dir:
                sites = {site: web.base_urls[site] for site in plain_http_sites()}
                pages, seconds = run_worker("full", {"base_urls": sites, "data_dir": data_dir})
                urls = fetched_urls(Path(data_dir) / "raw")
            bare_pages, bare_seconds = run_worker("bare", {"urls": urls})
            full_rates.append(pages / seconds)
            bare_rates.append(bare_pages / bare_seconds)
            print(
                f"round {round_no}: full pipeline {pages} pages in {seconds:.2f} s = {full_rates[-1]:.1f} pages/s; "
                f"bare spider {bare_pages} pages in {bare_seconds:.2f} s = {bare_rates[-1]:.1f} pages/s"
            )
    full, bare = statistics.median(full_rates), statistics.median(bare_rates)
    print(f"median full pipeline: {full:.1f} pages/s")
    print(f"median bare spider:   {bare:.1f} pages/s")
    print(f"ratio full/bare: {full / bare:.2f}  (target ≥ 1.0)")


if __name__ == "__main__":
    main()

"""Benchmark: rendered pages through the crawler vs a plain Playwright loop, and the crawler's memory over a long crawl.

Run:  .venv/bin/python bench/bench_render.py  [--pages 2000] [--early 200] [--concurrency 8]

1. Starts the sandbox web on free ports; its JS shop serves generated pages
   ``/bench/<n>.html`` whose content a script injects (a heading inline, the
   copy by fetch), listed by ``/bench/index.html?count=N``.
2. Crawls them with the real crawler (``render: js`` profile, full pipeline but
   evidence capture) in a worker process, sampling every 0.2 s the resident memory
   (RSS) of the worker plus every process under it (Playwright's driver, Chromium
   and its renderers) against the number of pages the sandbox has served.
3. Renders the same pages with a plain Playwright loop: the same Chromium and flags,
   the same concurrency, one context, goto, wait for the copy, take the DOM, close.
Each side's rate counts browser start-up.  Prints pages/s of both, the ratio
(target ≥ 0.9), and peak RSS after ``--early`` pages vs after all (target ≤ 1.2×).
Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PROFILE = """name: benchrender
group: bench
base_url: {base_url}
private_network: true
start_urls: ['/bench/index.html?count={pages}']
render: js
render_wait: {{selector: '.desc p, main li a', timeout: 10}}
follow:
  - allow: ['/bench/\\d+\\.html']
items:
  - name: page
    url_pattern: '/bench/\\d+\\.html'
    fields:
      title: {{css: 'h1::text'}}
      body: {{css: '.desc p::text', join: "\\n"}}
politeness: {{concurrency: {concurrency}, max_pages: 1000000, max_depth: 2, timeout: 30}}
"""


# --- the crawler, in a worker process ------------------------------------------


def worker_crawler(profile_dir: str, data_dir: str) -> dict:
    from crawler.run import crawl_sites

    overrides = {
        "ADWATCH_PROFILE_DIRS": [profile_dir],
        "ADWATCH_DATA_DIR": data_dir,
        "ADWATCH_EVIDENCE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
    }
    [result] = crawl_sites(["benchrender"], overrides)
    stats = result.stats
    return {
        "rendered": stats.get("adwatch/render/page_count", 0),
        "items": stats.get("item_scraped_count", 0),
        "seconds": (stats["finish_time"] - stats["start_time"]).total_seconds(),
        "contexts_closed": stats.get("adwatch/render/context_closed", 0),
        "browsers": stats.get("playwright/browser_count", 0),
    }


# --- the plain Playwright loop ---------------------------------------------------


async def _render_all(urls: list[str], concurrency: int) -> int:
    from playwright.async_api import async_playwright

    from crawler.config import project_settings

    settings = project_settings()
    queue: asyncio.Queue[str] = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    done = 0
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=settings.get("ADWATCH_RENDER_EXECUTABLE_PATH"),
            args=settings.getlist("ADWATCH_RENDER_BROWSER_ARGS"),
            headless=True,
        )
        context = await browser.new_context()

        async def worker() -> None:
            nonlocal done
            while not queue.empty():
                url = queue.get_nowait()
                page = await context.new_page()
                await page.goto(url)
                await page.wait_for_selector(".desc p", state="attached", timeout=10_000)
                await page.content()
                await page.close()
                done += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        await browser.close()
    return done


def worker_loop(urls: list[str], concurrency: int) -> dict:
    started = time.perf_counter()
    rendered = asyncio.run(_render_all(urls, concurrency))
    return {"rendered": rendered, "seconds": time.perf_counter() - started}


# --- memory of a process tree ------------------------------------------------------


def _tree(root: int) -> list[int]:
    """``root`` and every process under it, from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError):
            continue
    found = []
    for pid in parents:
        ancestor = pid
        while ancestor not in (0, 1, root):
            ancestor = parents.get(ancestor, 0)
        if ancestor == root:
            found.append(pid)
    return found


def _memory(pid: int) -> tuple[int, int]:
    """RSS and PSS (shared pages split between their users) of one process, in bytes."""
    values = {"Rss:": 0, "Pss:": 0}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key, _, rest = line.partition(" ")
            if key in values:
                values[key] = int(rest.split()[0]) * 1024
    except OSError:
        pass
    return values["Rss:"], values["Pss:"]


def _tree_memory(root: int) -> tuple[int, int]:
    """Summed RSS and PSS of ``root`` and every process under it."""
    sizes = [_memory(pid) for pid in _tree(root)]
    return sum(r for r, _ in sizes), sum(p for _, p in sizes)


class MemorySampler(threading.Thread):
    """Samples (pages served so far, tree RSS, tree PSS) every 0.2 s until stopped."""

    def __init__(self, pid: int, served) -> None:
        super().__init__(daemon=True)
        self.pid, self.served = pid, served
        self.samples: list[tuple[int, int, int]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.2):
            self.samples.append((self.served(), *_tree_memory(self.pid)))

    def peak(self, up_to_pages: int | None = None, column: int = 1) -> int:
        chosen = [s[column] for s in self.samples if up_to_pages is None or s[0] <= up_to_pages]
        return max(chosen, default=0)


# --- driver -------------------------------------------------------------------------


def run_worker(kind: str, payload: dict, on_start=None) -> dict:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--worker", kind],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"},
    )
    sampler = on_start(proc.pid) if on_start else None
    out, _ = proc.communicate(json.dumps(payload))
    if sampler is not None:
        sampler.stop.set()
        sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{kind} worker failed ({proc.returncode})")
    return json.loads(out.strip().splitlines()[-1])


def _worker_main(kind: str) -> None:
    payload = json.loads(sys.stdin.read())
    if kind == "crawler":
        result = worker_crawler(payload["profile_dir"], payload["data_dir"])
    else:
        result = worker_loop(payload["urls"], payload["concurrency"])
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--early", type=int, default=200, help="pages after which the first memory peak is taken")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker_main(args.worker)
        return

    from sandbox.server import SandboxWeb

    with SandboxWeb(port_base=None) as web, tempfile.TemporaryDirectory() as tmp:
        site = web.sites["jsmall"]
        base_url = web.base_urls["jsmall"]
        profile_dir = Path(tmp) / "profiles"
        profile_dir.mkdir()
        text = PROFILE.format(base_url=base_url, pages=args.pages, concurrency=args.concurrency)
        (profile_dir / "benchrender.yaml").write_text(text, encoding="utf-8")

        def sample(pid: int) -> MemorySampler:
            sampler = MemorySampler(pid, lambda: site.bench_pages_served)
            sampler.start()
            samplers.append(sampler)
            return sampler

        samplers: list[MemorySampler] = []
        served_before = site.bench_pages_served
        crawler = run_worker("crawler", {"profile_dir": str(profile_dir), "data_dir": f"{tmp}/data"}, sample)
        early_limit = served_before + args.early
        urls = [f"{base_url}bench/{n}.html" for n in range(1, args.pages + 1)]
        loop = run_worker("loop", {"urls": urls, "concurrency": args.concurrency})

    sampler = samplers[0]
    crawler_rate = crawler["rendered"] / crawler["seconds"]
    loop_rate = loop["rendered"] / loop["seconds"]
    early, late = sampler.peak(early_limit), sampler.peak()
    early_pss, late_pss = sampler.peak(early_limit, column=2), sampler.peak(column=2)
    print(f"pages: {args.pages} generated JS pages, concurrency {args.concurrency}, Chromium via executable_path")
    print(f"crawler (full pipeline, render: js): {crawler['rendered']} rendered, {crawler['items']} items "
          f"in {crawler['seconds']:.1f} s = {crawler_rate:.1f} pages/s "
          f"(contexts closed {crawler['contexts_closed']}, browsers {crawler['browsers']})")  # fmt: skip
    print(f"plain Playwright loop:               {loop['rendered']} rendered in {loop['seconds']:.1f} s "
          f"= {loop_rate:.1f} pages/s")  # fmt: skip
    print(f"ratio crawler / loop: {crawler_rate / loop_rate:.2f}  (target >= 0.9)")
    print(f"peak RSS, crawler + browser processes: after {args.early} pages {early / 2**20:.0f} MiB, "
          f"after {args.pages} pages {late / 2**20:.0f} MiB; ratio {late / early:.2f}  (target <= 1.2)")  # fmt: skip
    print(f"peak PSS (shared pages counted once): after {args.early} pages {early_pss / 2**20:.0f} MiB, "
          f"after {args.pages} pages {late_pss / 2**20:.0f} MiB; ratio {late_pss / early_pss:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()

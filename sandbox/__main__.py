"""``python -m sandbox``: serve the sandbox web until Ctrl-C; ``python -m sandbox manifest``: print the ground truth.

``python -m sandbox hostile`` serves the hostile site (sandbox/hostile.py) instead;
``python -m sandbox hostile-report DATA_DIR`` prints expected against stored, by case, for a crawl of it.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path

from crawler.exceptions import SandboxError
from sandbox.hostile import HOSTILE_PORT, HostileWeb
from sandbox.hostile_report import report
from sandbox.manifest import load_manifest
from sandbox.server import DEFAULT_PORT_BASE, SandboxWeb


def _serve(args: argparse.Namespace) -> int:
    web = SandboxWeb(host=args.host, port_base=args.port_base, slow_seconds=args.slow_seconds)
    try:
        web.start()
    except SandboxError as exc:
        print(f"错误 / error: {exc}", file=sys.stderr)
        return 1
    print("沙盒网站已启动 / sandbox web is up:")
    for site, url in web.base_urls.items():
        print(f"  {site:<11} {url}")
    return _until_stopped(web)


def _serve_hostile(args: argparse.Namespace) -> int:
    web = HostileWeb(port=args.port)
    try:
        web.start()
    except OSError as exc:
        print(f"错误 / error: the hostile site cannot listen on port {args.port} or the next: {exc}", file=sys.stderr)
        return 1
    print("恶意页面测试站已启动 / the hostile site is up:")
    print(f"  hostile     {web.base_url}")
    print(f"  off-site    {web.offsite_url} (counts every request; a crawl must send none)")
    return _until_stopped(web)


def _until_stopped(web: SandboxWeb | HostileWeb) -> int:
    print("按 Ctrl-C 停止 / press Ctrl-C to stop.", flush=True)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("\n已停止 / stopped.")
    finally:
        web.stop()
    return 0


def _hostile_report(args: argparse.Namespace) -> int:
    db_path = args.data_dir if args.data_dir.is_file() else args.data_dir / "adwatch.db"
    if not db_path.is_file():
        print(f"错误 / error: no store at {db_path} (crawl first: adwatch crawl hostile)", file=sys.stderr)
        return 1
    print(report(db_path))
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _manifest(args: argparse.Namespace) -> int:
    try:
        for truth in load_manifest():
            print(json.dumps(truth.to_dict(), ensure_ascii=False))
    except BrokenPipeError:  # e.g. piped into head
        sys.stderr.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description="AdWatch 沙盒网站 / the sandbox web")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port-base", type=int, default=DEFAULT_PORT_BASE, help="mall's port; the others follow")
    parser.add_argument("--slow-seconds", type=float, default=3.0, help="delay of the slow page")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="serve every site until Ctrl-C (default)")
    sub.add_parser("manifest", help="print the ground truth as JSON lines")
    hostile = sub.add_parser("hostile", help="serve the hostile site and its off-site host until Ctrl-C")
    hostile.add_argument("--port", type=int, default=HOSTILE_PORT, help="the site's port; the off-site host's is next")
    hostile_report = sub.add_parser("hostile-report", help="expected against stored, by case, for a hostile crawl")
    hostile_report.add_argument("data_dir", type=Path, help="a crawl's data folder or its adwatch.db")
    args = parser.parse_args(argv)
    commands = {"manifest": _manifest, "hostile": _serve_hostile, "hostile-report": _hostile_report}
    return commands.get(args.command, _serve)(args)


if __name__ == "__main__":
    sys.exit(main())

"""``python -m sandbox``: serve the sandbox web until Ctrl-C; ``python -m sandbox manifest``: print the ground truth."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time

from crawler.exceptions import SandboxError
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
    args = parser.parse_args(argv)
    return _manifest(args) if args.command == "manifest" else _serve(args)


if __name__ == "__main__":
    sys.exit(main())

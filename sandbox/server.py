"""The sandbox web: every site on its own local port, each in its own server thread."""

from __future__ import annotations

import errno
import logging
import threading
from collections.abc import Callable
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from crawler.exceptions import SandboxError
from sandbox.catalog import build_catalog
from sandbox.sites import SITE_CLASSES
from sandbox.sites.base import Response, Site

logger = logging.getLogger(__name__)

SITES: tuple[str, ...] = (
    "mall", "hospital", "healthfood", "pharmacy", "collect", "news", "flashsale", "jsmall", "market"
)  # fmt: skip
DEFAULT_PORT_BASE = 8601  # mall=8601, hospital=8602, ... in SITES order


class SiteServer(ThreadingHTTPServer):
    """A sandbox site's HTTP server: one thread a request, none of them waited for on stop."""

    daemon_threads = True
    block_on_close = False  # stop() must not wait for the slow page
    # socketserver's default backlog of 5 drops connections under a crawler's
    # concurrency, and the client's SYN retries then stall it for seconds.
    request_queue_size = 128


def send(handler: BaseHTTPRequestHandler, response: Response, send_body: bool = True) -> None:
    """Write ``response`` as the answer ``handler`` gives: status, headers, body."""
    handler.send_response(response.status)
    handler.send_header("Content-Type", response.content_type)
    handler.send_header("Content-Length", str(len(response.body)))
    for name, value in response.headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    if send_body:
        handler.wfile.write(response.body)


def _handler_for(site: Site) -> type[BaseHTTPRequestHandler]:
    class SiteHandler(BaseHTTPRequestHandler):
        server_version = "nginx/1.24.0"
        sys_version = ""

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._respond(send_body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._respond(send_body=False)

        def _respond(self, send_body: bool) -> None:
            parts = urlsplit(self.path)
            try:
                response = site.handle(parts.path or "/", parse_qs(parts.query, keep_blank_values=True))
            except Exception:
                logger.exception("Sandbox site %s failed on %s", site.key, self.path)
                response = site.server_error()
            send(self, response, send_body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            logger.debug("%s %s", site.key, format % args)

    return SiteHandler


class SandboxWeb:
    """The local "mini internet": six sites on 127.0.0.1, one port each.

    ``port_base`` gives the mall's port; the other sites follow in ``SITES``
    order.  ``port_base=None`` binds every site to a free ephemeral port (tests).
    With ``free_port_if_busy``, a site whose port another program holds gets a
    free port instead, and its port is listed in ``busy_ports``; without it, a
    busy port is a :class:`SandboxError` that names it.
    """

    def __init__(self, host: str = "127.0.0.1", port_base: int | None = DEFAULT_PORT_BASE,
                 slow_seconds: float = 3.0, clock: Callable[[], date] = date.today,
                 free_port_if_busy: bool = False) -> None:  # fmt: skip
        self.host = host
        self.clock = clock  # "today" for the sites whose pages change with the date (flashsale)
        self.port_base = port_base
        self.slow_seconds = slow_seconds
        self.free_port_if_busy = free_port_if_busy
        self.busy_ports: list[int] = []
        self.base_urls: dict[str, str] = {}
        self.sites: dict[str, Site] = {}  # the running sites, for tests that watch what they were asked
        self._servers: list[tuple[SiteServer, threading.Thread]] = []

    def start(self) -> SandboxWeb:
        catalog = build_catalog()
        for offset, key in enumerate(SITES):
            port = 0 if self.port_base is None else self.port_base + offset
            site = SITE_CLASSES[key](catalog, slow_seconds=self.slow_seconds)
            site.clock = self.clock
            server = self._listen(key, port, _handler_for(site))
            site.base_url = f"http://{self.host}:{server.server_address[1]}/"
            self.base_urls[key] = site.base_url
            self.sites[key] = site
            thread = threading.Thread(target=server.serve_forever, name=f"sandbox-{key}", daemon=True)
            thread.start()
            self._servers.append((server, thread))
        return self

    def _listen(self, key: str, port: int, handler: type[BaseHTTPRequestHandler]) -> SiteServer:
        try:
            return SiteServer((self.host, port), handler)
        except OSError as exc:
            if self.free_port_if_busy and port and exc.errno == errno.EADDRINUSE:
                self.busy_ports.append(port)
                return self._listen(key, 0, handler)
            self.stop()
            reason = "已被其他程序占用（另一个沙盒在运行？）" if exc.errno == errno.EADDRINUSE else "不可用"
            raise SandboxError(
                f"沙盒站点 '{key}' 无法监听 {self.host}:{port}：端口 {port} {reason}；"
                "请换一个起始端口，或用 0 取空闲端口 / "
                f"sandbox site '{key}' cannot listen on {self.host}:{port}: {exc.strerror or exc} "
                f"(is another sandbox running? choose another port base, or 0 for free ports)"
            ) from None

    def stop(self) -> None:
        for server, thread in self._servers:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
        self._servers.clear()
        self.base_urls.clear()
        self.sites.clear()

    def url(self, site: str, path: str) -> str:
        if site not in self.base_urls:
            raise SandboxError(f"unknown or stopped sandbox site '{site}'; sites: {', '.join(SITES)}")
        return self.base_urls[site].rstrip("/") + "/" + path.lstrip("/")

    def __enter__(self) -> SandboxWeb:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self.stop()

"""One real sandbox web for the whole session, on ephemeral ports."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from sandbox.server import SandboxWeb

SLOW_SECONDS = 0.5


@dataclass
class Fetched:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def text(self, encoding: str = "utf-8") -> str:
        return self.body.decode(encoding)


def fetch(url: str) -> Fetched:
    """GET ``url`` without following redirects."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        response = conn.getresponse()
        return Fetched(response.status, response.headers, response.read())
    finally:
        conn.close()


@pytest.fixture(scope="session")
def web() -> Iterator[SandboxWeb]:
    with SandboxWeb(port_base=None, slow_seconds=SLOW_SECONDS) as sandbox:
        yield sandbox

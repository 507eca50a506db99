"""Refuse requests to private, loopback and link-local addresses unless the site's profile allows them.

A monitored site decides where its links and redirects point; without this check a page could make the
crawler fetch the machine's own services or the intranet it stands in.  Literal addresses and host
names are both checked: a name is resolved first, and refused when any address it resolves to is not a
public one.  Sandbox and intranet sites opt in with ``private_network: true`` in their profile.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


async def resolve(host: str) -> list[Address]:
    """The addresses ``host`` stands for: itself when it is a literal, else what the resolver answers."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        answers = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []  # unresolvable: the download fails and says so, as it would without this check
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in answers]


class PrivateAddressMiddleware:
    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats
        self._verdicts: dict[str, Address | None] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PrivateAddressMiddleware:
        return cls(crawler.stats)

    async def process_request(self, request: Request, spider: Spider) -> None:
        profile = getattr(spider, "profile", None)
        if profile is None or profile.private_network:
            return None
        host = urlsplit(request.url).hostname or ""
        if host not in self._verdicts:
            self._verdicts[host] = next((a for a in await resolve(host) if not a.is_global), None) if host else None
        address = self._verdicts[host]
        if address is None:
            return None
        self.stats.inc_value("adwatch/request/private_address")
        message = (f"拒绝访问内网或本机地址 refused a private or loopback address: {request.url} ({host} → {address}); "
                   f"profile {profile.name!r} may set private_network: true for a sandbox or intranet site")
        logger.warning(message)
        raise IgnoreRequest(message)

"""robots.txt for every request that waits for it, not only the first.

Scrapy 2.19's ``RobotsTxtMiddleware`` keeps one Deferred per host while robots.txt downloads,
and each waiting request awaits it as an asyncio future; the first future consumes the
Deferred's result, so every other request that was waiting gets ``None``, "no robots.txt",
and is fetched unchecked.  A crawl that starts with many requests to one host (several
start URLs, or a resumed crawl re-issuing its open pages) would fetch what robots.txt forbids.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as ScrapyRobotsTxtMiddleware
from scrapy.robotstxt import RobotParser


class RobotsTxtMiddleware(ScrapyRobotsTxtMiddleware):
    """Scrapy's robots.txt middleware; a request handed ``None`` while robots.txt was loading asks again."""

    async def robot_parser(self, request: Request) -> RobotParser | None:
        parser = await super().robot_parser(request)
        if parser is None:  # robots.txt has loaded (or failed) by now: this answer is the real one
            parser = await super().robot_parser(request)
        return parser

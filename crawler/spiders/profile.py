"""The one generic spider: everything site-specific comes from a profile."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.settings import BaseSettings
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.extract import extract_record, json_selector, records
from crawler.fetch_record import fetch_record
from crawler.items import AdItem
from crawler.middlewares.encoding import DOUBT_META_KEY as ENCODING_DOUBT_KEY
from crawler.middlewares.raw_archive import META_KEY as RAW_REF_KEY
from crawler.profiles import FollowRule, ItemRule, Profile
from crawler.render import META_KEY as RENDER_KEY
from crawler.render import NOTES_META_KEY as RENDER_NOTES_KEY
from crawler.render import WAIT_META_KEY as RENDER_WAIT_KEY
from crawler.render import install_rendering
from crawler.urls import canonical_url, link_url, same_site, strip_params


class ProfileSpider(scrapy.Spider):
    """Crawls one site as its profile says.  Subclassed per profile by the spider loader."""

    name = "profile"
    profile: Profile

    @classmethod
    def for_profile(cls, profile: Profile) -> type[ProfileSpider]:
        """A spider class named after ``profile``, with its politeness as custom settings."""
        politeness = profile.politeness
        custom_settings = {
            "DOWNLOAD_DELAY": politeness.download_delay,
            "CONCURRENT_REQUESTS_PER_DOMAIN": politeness.concurrency,
            "ROBOTSTXT_OBEY": politeness.obey_robots,
            "DOWNLOAD_TIMEOUT": politeness.timeout,
            "CLOSESPIDER_PAGECOUNT": politeness.max_pages,
            "DEPTH_LIMIT": politeness.max_depth,
        }
        return type(
            f"{profile.name.title().replace('_', '')}Spider",
            (cls,),
            {"name": profile.name, "profile": profile, "custom_settings": custom_settings},
        )

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        """Politeness as above, plus the Playwright download handler if (and only if) the site renders."""
        super().update_settings(settings)
        profile = getattr(cls, "profile", None)
        if profile is not None and profile.renders:
            install_rendering(settings, profile.name)

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any) -> ProfileSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        base_url = crawler.settings.getdict("ADWATCH_BASE_URLS").get(cls.profile.name)
        if base_url:
            spider.profile = cls.profile.with_base_url(base_url)
        # Scrapy's OffsiteMiddleware drops any request to another host, the ones a redirect or a
        # meta refresh makes included (counted as offsite/filtered).
        spider.allowed_domains = spider.profile.hosts
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self._requested: set[str] = set(self.profile.absolute_start_urls)
        self._judged: set[tuple[int, str]] = set()
        # Start pages are fetched on every run, a resumed one too: a job folder that remembers them
        # as seen must not leave the crawl nothing to start from.
        for url in self.profile.absolute_start_urls:
            yield scrapy.Request(
                url, callback=self.parse, errback=self.on_error, meta=self._render_meta(url), dont_filter=True
            )

    def parse(self, response: Response) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            self.crawler.stats.inc_value("adwatch/page/skipped_binary")
            return
        rule = self.profile.item_rule_for(response.url)
        if rule is not None:
            yield from self.items_from(response, rule)
        yield from self.follow_links(response)

    def items_from(self, response: TextResponse, rule: ItemRule) -> Iterator[AdItem]:
        try:
            nodes = records(self._selector(response, rule), rule)
        except (ValueError, json.JSONDecodeError) as exc:
            self.crawler.stats.inc_value("adwatch/page/unparseable")
            self.logger.warning("Cannot parse %s as %s (%s): %s", response.url, rule.type, rule.name, exc)
            return
        for node in nodes:
            try:
                item = self.build_item(response, rule, extract_record(node, rule))
            except ValueError as exc:  # a record whose URL is none (http://[::1): that record, not the page's others
                self.crawler.stats.inc_value("adwatch/error/bad_record")
                self.logger.warning("Skipping a record of %s (%s): %s", response.url, rule.name, exc)
                continue
            if item.title or item.body:
                yield item
            else:
                self.crawler.stats.inc_value("adwatch/item/empty")
                self.logger.warning("Item rule %r found no title or body on %s", rule.name, response.url)

    def _selector(self, response: TextResponse, rule: ItemRule):
        return json_selector(response.text) if rule.type == "json" else response.selector

    def build_item(self, response: TextResponse, rule: ItemRule, fields: dict[str, Any]) -> AdItem:
        url = link_url(response, fields["url"]) if fields.get("url") else response.url
        declared = fields.get("canonical_url")
        canonical = canonical_url(link_url(response, declared) if declared else url, self.profile.strip_params)
        prices = fields.get("prices", [])
        return AdItem(
            url=url,
            site=self.profile.name,
            canonical_url=canonical,
            title=fields.get("title", ""),
            body=fields.get("body", ""),
            price_texts=[prices] if isinstance(prices, str) else list(prices),
            seller=fields.get("seller", ""),
            category_hints=_as_list(fields.get("category_hints"))
            + list(rule.category_hints)
            + list(self.profile.category_hints),
            image_alts=_as_list(fields.get("image_alts")),
            page=rule.page,
            reviews=_as_list(fields.get("reviews")),
            licence=_joined(fields.get("licence")),
            footer=_joined(fields.get("footer")),
            sales=_joined(fields.get("sales")),
            review_count=_joined(fields.get("review_count")),
            fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
            http_status=response.status,
            raw_ref=response.meta.get(RAW_REF_KEY, ""),
            render_notes=list(response.meta.get(RENDER_NOTES_KEY, ())),
            encoding_doubt=response.meta.get(ENCODING_DOUBT_KEY, ""),
            fetch=fetch_record(response),
        )

    def follow_links(self, response: TextResponse) -> Iterator[scrapy.Request]:
        """Requests for the links the profile follows, each URL once per crawl.

        Every page repeats the site's navigation links; remembering which links
        were already judged spares canonicalising and matching them again, and
        building (and fingerprinting) a request that Scrapy's duplicate filter,
        still there as the safety net, would only drop.
        """
        for index, rule in enumerate(self.profile.follow):
            for href in self._links(response, rule):
                try:
                    link = (index, link_url(response, href))
                    if link in self._judged:
                        continue
                    self._judged.add(link)
                    url = strip_params(link[1], self.profile.strip_params)
                    if url in self._requested or not self._may_follow(url, rule):
                        continue
                except ValueError as exc:  # http://[::1 — one malformed link, not the page's other links
                    self.crawler.stats.inc_value("adwatch/link/malformed")
                    self.logger.warning("Skipping malformed link %r on %s: %s", href, response.url, exc)
                    continue
                self._requested.add(url)
                yield scrapy.Request(url, callback=self.parse, errback=self.on_error, meta=self._render_meta(url))

    def _render_meta(self, url: str) -> dict[str, Any] | None:
        """Opt a request into rendering (``adwatch_render``) when the profile marks its page ``render: js``."""
        if not self.profile.renders:
            return None
        wait = self.profile.render_wait_for(url)
        return None if wait is None else {RENDER_KEY: True, RENDER_WAIT_KEY: wait}

    def _may_follow(self, url: str, rule: FollowRule) -> bool:
        if not same_site(url, self.profile.base_url):
            return False
        if any(pattern.search(url) for pattern in _compiled(tuple(rule.deny))):
            return False
        return not rule.allow or any(pattern.search(url) for pattern in _compiled(tuple(rule.allow)))

    @staticmethod
    def _links(response: TextResponse, rule: FollowRule) -> list[str]:
        if rule.jmespath:
            if not _looks_like_json(response):
                return []
            try:
                return [str(v) for v in json_selector(response.text).jmespath(rule.jmespath).getall()]
            except ValueError:
                return []
        if _looks_like_json(response):
            return []
        return response.css(f"{rule.css or 'a'}::attr(href)").getall()

    def on_error(self, failure: Failure) -> None:
        """Count each failed request by cause; robots.txt refusals are skips, not errors."""
        url = failure.request.url
        if failure.check(IgnoreRequest) and "robots.txt" in failure.getErrorMessage():
            self.crawler.stats.inc_value("adwatch/skipped/robots_txt")
            self.logger.debug("Skipped %s: forbidden by robots.txt", url)
            return
        if failure.check(HttpError):
            cause = f"http_{failure.value.response.status}"
        else:
            cause = failure.type.__name__
        self.crawler.stats.inc_value(f"adwatch/error/{cause}")
        self.logger.warning("Failed %s (%s): %s", url, cause, failure.getErrorMessage())


@lru_cache(maxsize=256)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)


def _looks_like_json(response: TextResponse) -> bool:
    content_type = response.headers.get(b"Content-Type", b"").lower()
    return b"json" in content_type


def _joined(value: str | list[str] | None) -> str:
    return " ".join(_as_list(value))


def _as_list(value: str | list[str] | None) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else list(value)

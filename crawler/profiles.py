"""Site profiles: one YAML file per site drives the generic spider.

A profile says where to start, which links to follow, how to pull an ad or
listing out of a page (parsel CSS/XPath selectors or JSON paths) and how
politely to crawl.  Profiles are data: adding a site means adding a file.

Validation happens on load; every error names the file, the entry and the
field, e.g. ``sandbox/profiles/mall.yaml: items[1] (product): field 'fields.title': ...``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urljoin, urlsplit

import jmespath
import yaml
from parsel import Selector
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from crawler.exceptions import ProfileError
from crawler.validation import describe_location

ITEM_FIELDS = (
    "title", "body", "prices", "seller", "category_hints", "image_alts", "url", "canonical_url",
    "reviews", "licence", "footer", "sales", "review_count",
)  # fmt: skip
# Namespaces available to profile XPath: the EXSLT string functions, e.g.
# ``str:decode-uri(@data-nick)`` for a seller name a page only carries percent-encoded.
XPATH_NAMESPACES = {"str": "http://exslt.org/strings"}


def check_selector(kind: str, expression: str) -> None:
    """Raise ValueError if a CSS, XPath or JMESPath expression does not compile."""
    try:
        if kind == "jmespath":
            jmespath.compile(expression)
        elif kind == "xpath":
            Selector(text="<html></html>").xpath(expression, namespaces=XPATH_NAMESPACES)
        else:
            getattr(Selector(text="<html></html>"), kind)(expression)
    except Exception as exc:  # parsel, cssselect, lxml and jmespath each raise their own errors
        raise ValueError(f"invalid {kind} selector {expression!r}: {exc}") from None


_HOST = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldSpec(_Strict):
    """How one item field is extracted: exactly one of css, xpath, jmespath (JSON pages), const."""

    css: str | None = None
    xpath: str | None = None
    jmespath: str | None = None
    const: str | list[str] | None = None
    many: bool = False
    join: str | None = None
    regex: str | None = None

    @model_validator(mode="after")
    def _exactly_one_source(self) -> FieldSpec:
        sources = [s for s in ("css", "xpath", "jmespath", "const") if getattr(self, s) is not None]
        if len(sources) != 1:
            raise ValueError("give exactly one of css, xpath, jmespath, const")
        return self

    @field_validator("css", "xpath", "jmespath")
    @classmethod
    def _selector_compiles(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            check_selector(info.field_name, value)
        return value

    @field_validator("regex")
    @classmethod
    def _regex_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regex: {exc}") from exc
        return value


class RenderWait(_Strict):
    """What a rendered page waits for before it is captured, all within ``timeout`` seconds.

    ``selector`` (CSS) must appear; ``scroll`` rounds scroll the page to the bottom screen by
    screen (stopping early once it no longer grows); ``network_idle`` waits for no network
    traffic.  ``timeout`` falls back to ``ADWATCH_RENDER_WAIT_TIMEOUT``.  A page still loading
    when the time is up is captured as far as it got, with a note.
    """

    selector: str | None = None
    network_idle: bool = False
    scroll: Annotated[int, Field(ge=0, le=100)] = 0
    scroll_pause: Annotated[float, Field(gt=0, le=30)] = 1.0
    timeout: Annotated[float, Field(gt=0, le=300)] | None = None

    @field_validator("selector")
    @classmethod
    def _selector_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            check_selector("css", value)
        return value


class ItemRule(_Strict):
    """Pages whose URL matches ``url_pattern`` yield items extracted by ``fields``.

    Without ``records`` a page is one item.  With it, each record is one item:
    ``records`` is a JMESPath on JSON pages and a CSS selector on HTML pages
    (one node per listing of a search or list page).
    """

    name: str
    url_pattern: str
    type: Literal["html", "json"] = "html"
    records: str | None = None
    fields: dict[str, FieldSpec]
    category_hints: list[str] = []
    # A shop page is checked for its licence information and footer (crawler/pipelines/market_check.py).
    page: Literal["listing", "shop"] = "listing"
    # Render this rule's pages in a browser (``js``) or not (``http``); unset: as the profile says.
    render: Literal["http", "js"] | None = None
    render_wait: RenderWait | None = None

    @field_validator("records")
    @classmethod
    def _records_compile(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            check_selector("jmespath" if info.data.get("type") == "json" else "css", value)
        return value

    @field_validator("url_pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regex: {exc}") from exc
        return value

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        unknown = sorted(set(value) - set(ITEM_FIELDS))
        if unknown:
            raise ValueError(f"unknown item field(s) {unknown}; allowed: {list(ITEM_FIELDS)}")
        if "title" not in value and "body" not in value:
            raise ValueError("an item needs at least a 'title' or a 'body' field")
        return value


class FollowRule(_Strict):
    """Links to follow: regexes matched against absolute URLs.

    Links come from ``a[href]`` (or the ``css`` selector given) on HTML pages and
    from the ``jmespath`` expression on JSON pages.
    """

    allow: list[str] = []
    deny: list[str] = []
    css: str | None = None
    jmespath: str | None = None

    @field_validator("css", "jmespath")
    @classmethod
    def _link_selector_compiles(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            check_selector(info.field_name, value)
        return value

    @field_validator("allow", "deny")
    @classmethod
    def _patterns_compile(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"invalid regex {pattern!r}: {exc}") from exc
        return value


class Politeness(_Strict):
    download_delay: Annotated[float, Field(ge=0)] = 0.0
    concurrency: Annotated[int, Field(ge=1, le=64)] = 8
    obey_robots: bool = True
    timeout: Annotated[float, Field(gt=0)] = 20.0
    max_pages: Annotated[int, Field(ge=1)] = 5000
    max_depth: Annotated[int, Field(ge=0)] = 20


class Profile(_Strict):
    """One site: where to start, what to follow, what to extract."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    title: str = ""
    group: str = "default"
    district: str = ""
    base_url: str
    start_urls: list[str]
    follow: list[FollowRule] = []
    items: list[ItemRule]
    politeness: Politeness = Politeness()
    strip_params: list[str] = []
    category_hints: list[str] = []
    allowed_hosts: list[str] = []
    # Private, loopback and link-local addresses are refused unless the site is a sandbox or on the intranet.
    private_network: bool = False
    render: Literal["http", "js"] = "http"
    render_wait: RenderWait = RenderWait()
    source: str = Field(default="", exclude=True)

    @field_validator("base_url")
    @classmethod
    def _absolute_base(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http(s) URL")
        return value.rstrip("/") + "/"

    @field_validator("allowed_hosts")
    @classmethod
    def _bare_hosts(cls, value: list[str]) -> list[str]:
        for host in value:
            if not _HOST.fullmatch(host.lower()):
                raise ValueError(f"{host!r} is not a host name: write it without scheme, port or path (shop.jd.com)")
        return [host.lower() for host in value]

    @field_validator("start_urls")
    @classmethod
    def _some_start(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("needs at least one start URL")
        return value

    @model_validator(mode="after")
    def _render_wait_needs_rendering(self) -> Profile:
        if "render_wait" in self.model_fields_set and not self.renders:
            raise ValueError("render_wait is set but no page renders (set render: js)")
        for rule in self.items:
            if rule.render_wait is not None and not self._rule_renders(rule):
                raise ValueError(f"items '{rule.name}': render_wait is set but its pages do not render")
        return self

    def _rule_renders(self, rule: ItemRule) -> bool:
        return rule.type == "html" and (rule.render or self.render) == "js"

    @property
    def renders(self) -> bool:
        """Whether any page of this site is rendered in a browser."""
        return self.render == "js" or any(self._rule_renders(rule) for rule in self.items)

    def render_wait_for(self, url: str) -> RenderWait | None:
        """How to render ``url``: its wait conditions, or None for plain HTTP.

        JSON pages are never rendered; pages no item rule matches (listings, home) follow the profile.
        """
        rule = self.item_rule_for(url)
        if rule is None:
            return self.render_wait if self.render == "js" else None
        if not self._rule_renders(rule):
            return None
        return rule.render_wait or self.render_wait

    def with_base_url(self, base_url: str) -> Profile:
        """The same profile pointed at another host (the sandbox on other ports, a mirror)."""
        return self.model_copy(update={"base_url": self._absolute_base(base_url)})

    def absolute(self, url: str) -> str:
        return urljoin(self.base_url, url)

    @property
    def absolute_start_urls(self) -> list[str]:
        return [self.absolute(u) for u in self.start_urls]

    @property
    def domain(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    @property
    def hosts(self) -> list[str]:
        """The hosts (with their subdomains) any request of this crawl may reach, redirects and meta refresh included.

        The hosts of ``base_url`` and the start URLs, plus ``allowed_hosts``: a monitored site
        cannot steer the crawler to another host, such as an address inside the bureau's network.
        """
        hosts = [urlsplit(url).hostname or "" for url in (self.base_url, *self.absolute_start_urls)]
        return sorted({host for host in (*hosts, *self.allowed_hosts) if host})

    def item_rule_for(self, url: str) -> ItemRule | None:
        for rule in self.items:
            if re.search(rule.url_pattern, url):
                return rule
        return None


def parse_profile(data: Any, source: str) -> Profile:
    """Validate one profile mapping; raise ProfileError naming file, entry and field."""
    if not isinstance(data, dict):
        raise ProfileError(f"{source}: a profile must be a mapping, got {type(data).__name__}")
    try:
        return Profile.model_validate({**data, "source": source})
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = describe_location(data, tuple(err["loc"]))
            message = err["msg"].removeprefix("Value error, ")
            lines.append(f"{source}: profile '{data.get('name', '?')}': {where}: {message}")
        raise ProfileError("\n".join(lines)) from None


def load_profile(path: Path) -> Profile:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: not valid YAML: {exc}") from None
    return parse_profile(data, str(path))


def load_profiles(directories: list[Path]) -> dict[str, Profile]:
    """All profiles found in ``directories`` (``*.yaml``), keyed by name; names must be unique."""
    profiles: dict[str, Profile] = {}
    for directory in directories:
        for path in sorted(Path(directory).glob("*.yaml")):
            profile = load_profile(path)
            if profile.name in profiles:
                raise ProfileError(
                    f"{path}: profile name '{profile.name}' already defined in {profiles[profile.name].source}"
                )
            profiles[profile.name] = profile
    return profiles

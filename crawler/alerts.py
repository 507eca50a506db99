"""Alerts: what a site's crawl should tell the section, as one message per crawl and channel.

Three rules look at a finished crawl (the names are what users read):

- 高风险命中 ``high_risk_hits``: the crawl stored new hits at the chosen severities
  (an unchanged ad crawled again does not alert again);
- 抓取失败 ``crawl_failed``: the crawl did not finish normally, or fetched no page;
- 站点异常 ``site_anomaly``: the site gave far fewer ads than in its recent crawls,
  or mostly errors.

The rules and the channels (e-mail, DingTalk and WeCom robots, a generic JSON
webhook) are read from the YAML file ``ADWATCH_ALERTS_FILE`` and validated on
load; errors name the file, the entry and the field.  Secrets (the SMTP password,
the DingTalk signing secret, a webhook token) are read from environment
variables the file names, never from the file.  Sending is in
:mod:`crawler.alert_channels`; the crawl side in :mod:`crawler.extensions.alerts`.
"""

from __future__ import annotations

import os
import re
import sqlite3
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode, urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from scrapy.settings import BaseSettings

from crawler.exceptions import AlertConfigError
from crawler.validation import describe_location

#: Beijing time (UTC+8 all year), the time users read in every message.
BEIJING = timezone(timedelta(hours=8), "北京时间")

RuleName = Literal["high_risk_hits", "crawl_failed", "site_anomaly"]
RULE_NAMES: tuple[RuleName, ...] = ("high_risk_hits", "crawl_failed", "site_anomaly")
RULE_LABELS: dict[str, str] = {"high_risk_hits": "高风险命中", "crawl_failed": "抓取失败", "site_anomaly": "站点异常"}
#: The console page each rule's finding links to, as the link reads.
LINK_LABELS = {
    "high_risk_hits": "在审核台审核这些命中 review the hits in the console",
    "crawl_failed": "运行监控 crawl monitor",
    "site_anomaly": "运行监控 crawl monitor",
}
SEVERITY_LABELS = {"high": "高", "medium": "中", "low": "低"}
FINISH_REASON_LABELS = {
    "finished": "正常结束",
    "shutdown": "被中止",
    "cancelled": "被取消",
    "closespider_timeout": "超时",
    "stopped": "在审核台被停止",
}


# --- the YAML format ------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HighRiskHitsRule(_Strict):
    """高风险命中: new hits at ``severities``, at least ``min_hits`` of them; ``examples`` listed."""

    enabled: bool = True
    severities: list[Literal["high", "medium", "low"]] = Field(default=["high"], min_length=1)
    min_hits: int = Field(default=1, ge=1)
    examples: int = Field(default=10, ge=0, le=50)


class CrawlFailedRule(_Strict):
    """抓取失败: the crawl ended other than "finished", or fetched no page at all."""

    enabled: bool = True


class SiteAnomalyRule(_Strict):
    """站点异常: ads below ``items_ratio`` of the median of the recent runs, or errors above ``error_ratio``."""

    enabled: bool = True
    recent_runs: int = Field(default=5, ge=1, le=100)
    min_runs: int = Field(default=3, ge=1)
    items_ratio: float = Field(default=0.3, gt=0, lt=1)
    error_ratio: float = Field(default=0.5, gt=0, le=1)
    min_requests: int = Field(default=20, ge=1)

    @model_validator(mode="after")
    def _runs_fit(self) -> SiteAnomalyRule:
        if self.min_runs > self.recent_runs:
            raise ValueError(f"min_runs ({self.min_runs}) 不能大于 must not exceed recent_runs ({self.recent_runs})")
        return self


class AlertRules(_Strict):
    high_risk_hits: HighRiskHitsRule = HighRiskHitsRule()
    crawl_failed: CrawlFailedRule = CrawlFailedRule()
    site_anomaly: SiteAnomalyRule = SiteAnomalyRule()


def _environment_variable(name: str) -> str:
    if name and name not in os.environ:
        raise ValueError(f"环境变量 {name} 未设置 / environment variable {name} is not set")
    return name


def _web_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"应为 http(s) 地址 / expected an http(s) URL, got {url!r}")
    return url


class _Channel(_Strict):
    name: str = Field(min_length=1)
    rules: list[RuleName] = Field(default=list(RULE_NAMES), min_length=1)


class EmailChannel(_Channel):
    type: Literal["email"]
    host: str = Field(min_length=1)
    port: int = Field(default=0, ge=0, le=65535)
    security: Literal["ssl", "starttls", "none"] = "ssl"
    username: str = ""
    password_env: str = ""
    sender: str = Field(min_length=3)
    recipients: list[str] = Field(min_length=1)

    _env = field_validator("password_env")(_environment_variable)

    @property
    def smtp_port(self) -> int:
        return self.port or {"ssl": 465, "starttls": 587, "none": 25}[self.security]

    @model_validator(mode="after")
    def _login_needs_password(self) -> EmailChannel:
        if self.username and not self.password_env:
            raise ValueError("有 username 时须给出 password_env / username needs password_env")
        return self


class _WebChannel(_Channel):
    url: str

    _url = field_validator("url")(_web_url)


class DingTalkChannel(_WebChannel):
    """A DingTalk group robot; ``secret_env`` names the variable holding its signing secret (加签), if it signs."""

    type: Literal["dingtalk"]
    secret_env: str = ""

    _env = field_validator("secret_env")(_environment_variable)


class WeComChannel(_WebChannel):
    """A WeCom (企业微信) group robot; its key is in its URL."""

    type: Literal["wecom"]


class WebhookChannel(_WebChannel):
    """Any HTTP endpoint taking JSON; ``token_env`` names the variable holding a bearer token, if it wants one."""

    type: Literal["webhook"]
    token_env: str = ""

    _env = field_validator("token_env")(_environment_variable)


Channel = Annotated[EmailChannel | DingTalkChannel | WeComChannel | WebhookChannel, Field(discriminator="type")]


class AlertsFile(_Strict):
    rules: AlertRules = AlertRules()
    channels: list[Channel] = Field(min_length=1)

    @field_validator("channels")
    @classmethod
    def _names_unique(cls, channels: list[Channel]) -> list[Channel]:
        names = [channel.name for channel in channels]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"渠道名称重复 / channel names repeated: {', '.join(repeated)}")
        return channels


def parse_alerts(data: Any, source: str) -> AlertsFile:
    """Validate an alerts mapping; raise AlertConfigError naming the file, the entry and the field."""
    if not isinstance(data, dict):
        raise AlertConfigError(f"{source}: 告警配置须为映射 / the alerts file must be a mapping")
    try:
        return AlertsFile.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: {describe_location(data, tuple(e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
                 for e in exc.errors()]  # fmt: skip
        raise AlertConfigError("\n".join(lines)) from None


def load_alerts(path: Path) -> AlertsFile:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AlertConfigError(f"{path}: 无法读取告警配置 / cannot read the alerts file: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise AlertConfigError(f"{path}: 不是有效的 YAML / not valid YAML: {exc}") from None
    return parse_alerts(data, str(path))


@dataclass(frozen=True)
class AlertsConfig:
    """The ADWATCH_ALERTS_* settings, read once; ``plan`` is the validated file, or None when alerts are off."""

    plan: AlertsFile | None
    console_url: str
    timeout: float

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> AlertsConfig:
        path = settings.get("ADWATCH_ALERTS_FILE") or ""
        enabled = settings.getbool("ADWATCH_ALERTS_ENABLED") and bool(path)
        timeout = settings.getfloat("ADWATCH_ALERTS_TIMEOUT")
        if timeout <= 0:
            raise AlertConfigError(f"ADWATCH_ALERTS_TIMEOUT 须为正数 / must be positive, got {timeout}")
        return cls(
            plan=load_alerts(Path(path)) if enabled else None,
            console_url=settings.get("ADWATCH_ALERTS_CONSOLE_URL") or "",
            timeout=timeout,
        )


# --- what a crawl gave ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HitExample:
    title: str
    url: str
    article: str
    matched: str
    severity: str


@dataclass(frozen=True)
class CrawlFacts:
    """What the rules look at for one site's crawl: its stats, its new hits, the site's recent runs."""

    site: str
    started_at: datetime
    finished_at: datetime
    finish_reason: str
    pages: int
    items: int
    error_causes: dict[str, int]
    new_hits: int = 0
    new_hit_ads: int = 0
    examples: list[HitExample] = field(default_factory=list)
    recent_items: list[int] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(self.error_causes.values())

    @property
    def requests(self) -> int:
        """Responses received plus requests that got none (an HTTP error status is also a response)."""
        unanswered = sum(n for cause, n in self.error_causes.items() if not cause.startswith("http_"))
        return self.pages + unanswered

    @classmethod
    def from_stats(cls, site: str, stats: dict[str, Any], reason: str, **store_facts: Any) -> CrawlFacts:
        causes = {key.removeprefix("adwatch/error/"): int(value) for key, value in stats.items()
                  if key.startswith("adwatch/error/")}  # fmt: skip
        return cls(
            site=site,
            started_at=stats.get("start_time") or datetime.now(UTC),
            finished_at=datetime.now(UTC),
            finish_reason=reason,
            pages=int(stats.get("response_received_count", 0)),
            items=int(stats.get("item_scraped_count", 0)),
            error_causes=causes,
            **store_facts,
        )


def _read_only(db_path: Path) -> sqlite3.Connection | None:
    if not db_path.is_file():
        return None
    conn = sqlite3.connect(f"file:{quote(str(db_path.resolve()))}?mode=ro", uri=True, timeout=30)
    conn.row_factory = sqlite3.Row
    return conn


def _new_hits(conn: sqlite3.Connection, site: str, since: str, rule: HighRiskHitsRule) -> dict[str, Any]:
    """The site's hits stored since ``since`` at the rule's severities; the riskiest ads' first hits as examples."""
    marks = ", ".join("?" * len(rule.severities))
    rows = conn.execute(
        f"""SELECT h.ad_id, h.severity, h.article, h.matched, v.title, v.url FROM hits h
            JOIN ad_versions v ON v.id = h.version_id
            WHERE h.site = ? AND h.created_at >= ? AND h.severity IN ({marks})
            ORDER BY v.risk DESC, h.ad_id, h.start""",
        (site, since, *rule.severities),
    ).fetchall()
    first_hit_of_ad: dict[int, sqlite3.Row] = {}
    for row in rows:
        first_hit_of_ad.setdefault(row["ad_id"], row)
    examples = [HitExample(r["title"], r["url"], r["article"], r["matched"], r["severity"])
                for r in list(first_hit_of_ad.values())[: rule.examples]]  # fmt: skip
    return {"new_hits": len(rows), "new_hit_ads": len(first_hit_of_ad), "examples": examples}


def _recent_items(conn: sqlite3.Connection, site: str, before: str, rule: SiteAnomalyRule) -> list[int]:
    """Items of the site's last finished crawls that fetched pages, started before ``before``, latest first."""
    rows = conn.execute(
        """SELECT items FROM crawl_runs WHERE site = ? AND started_at < ? AND finish_reason = 'finished'
           AND pages > 0 ORDER BY id DESC LIMIT ?""",
        (site, before, rule.recent_runs),
    )
    return [row["items"] for row in rows]


def store_facts(db_path: Path, site: str, since: datetime, rules: AlertRules) -> dict[str, Any]:
    """From the store, read-only: the new hits of the crawl started at ``since``, and the site's earlier runs."""
    conn = _read_only(db_path)
    if conn is None:
        return {}
    since_text = since.astimezone(UTC).isoformat(timespec="seconds")
    try:
        found = _new_hits(conn, site, since_text, rules.high_risk_hits)
        return {**found, "recent_items": _recent_items(conn, site, since_text, rules.site_anomaly)}
    finally:
        conn.close()


# --- the rules ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """A rule that fired: ``short`` for the title (with the count), ``detail`` beside it, ``page`` to open."""

    rule: RuleName
    short: str
    detail: str
    page: str

    @property
    def headline(self) -> str:
        return f"{self.short}：{self.detail}"


def _high_risk_hits(rule: HighRiskHitsRule, facts: CrawlFacts) -> Finding | None:
    if facts.new_hits < rule.min_hits:
        return None
    levels = "、".join(SEVERITY_LABELS[s] for s in rule.severities)
    query = {"site": facts.site, **({"severity": rule.severities[0]} if len(rule.severities) == 1 else {})}
    return Finding(
        "high_risk_hits",
        f"高风险命中 {facts.new_hits} 条",
        f"{facts.new_hit_ads} 条广告，新增待审核（严重程度 {levels}）",
        "queue?" + urlencode(query),
    )


def _error_summary(facts: CrawlFacts) -> str:
    top = sorted(facts.error_causes.items(), key=lambda pair: (-pair[1], pair[0]))[:3]
    return "、".join(f"{cause} ×{count}" for cause, count in top) or "无 none"


def _crawl_failed(rule: CrawlFailedRule, facts: CrawlFacts) -> Finding | None:
    if facts.finish_reason == "finished" and facts.pages > 0:
        return None
    reason = FINISH_REASON_LABELS.get(facts.finish_reason, facts.finish_reason)
    return Finding(
        "crawl_failed",
        "抓取失败",
        f"结束原因 {facts.finish_reason}（{reason}），页面 {facts.pages}，"
        f"错误 {facts.errors}（{_error_summary(facts)}）",
        "monitor",
    )


def _site_anomaly(rule: SiteAnomalyRule, facts: CrawlFacts) -> Finding | None:
    problems = []
    if len(facts.recent_items) >= rule.min_runs and facts.pages > 0:
        usual = statistics.median(facts.recent_items)
        if facts.items < rule.items_ratio * usual:
            problems.append(f"广告 {facts.items} 条，近 {len(facts.recent_items)} 次抓取中位数 {usual:g} 条"
                            f"（低于 {rule.items_ratio:.0%}）")  # fmt: skip
    if facts.pages > 0 and facts.requests >= rule.min_requests and facts.errors >= rule.error_ratio * facts.requests:
        problems.append(f"错误 {facts.errors} / 请求 {facts.requests}（{_error_summary(facts)}）")
    return Finding("site_anomaly", "站点异常", "；".join(problems), "monitor") if problems else None


_EVALUATORS: dict[str, Callable[[Any, CrawlFacts], Finding | None]] = {
    "high_risk_hits": _high_risk_hits,
    "crawl_failed": _crawl_failed,
    "site_anomaly": _site_anomaly,
}


def evaluate(rules: AlertRules, facts: CrawlFacts) -> list[Finding]:
    """The findings of every enabled rule, in the order of RULE_NAMES."""
    findings = []
    for name in RULE_NAMES:
        rule = getattr(rules, name)
        finding = _EVALUATORS[name](rule, facts) if rule.enabled else None
        if finding is not None:
            findings.append(finding)
    return findings


# --- the message ----------------------------------------------------------------------------------

_MARKUP = str.maketrans({"[": "［", "]": "］", "<": "＜", ">": "＞", "*": "＊", "_": "＿", "#": "＃", "`": "｀"})


def plain_text(text: str, limit: int = 60) -> str:
    """Crawled text made inert in a chat robot's markdown: no links, tags or emphasis of its own; one line."""
    text = re.sub(r"[\x00-\x1f\x7f]+", " ", text).translate(_MARKUP).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Markup:
    """How a channel writes emphasis and links: markdown for the chat robots, plain text for e-mail."""

    markdown: bool

    def bold(self, text: str) -> str:
        return f"**{text}**" if self.markdown else text

    def link(self, text: str, url: str) -> str:
        return f"[{text}]({quote(url, safe=':/?&=%#@!$+,;~')})" if self.markdown else f"{text}: {url}"


@dataclass(frozen=True)
class Alert:
    """One crawl's findings for one channel: the message every channel renders its own way."""

    facts: CrawlFacts
    findings: list[Finding]
    console_url: str = ""

    @property
    def title(self) -> str:
        return f"AdWatch 告警 · {self.facts.site}：{'、'.join(f.short for f in self.findings)}"

    def link(self, finding: Finding) -> str:
        return self.console_url.rstrip("/") + "/" + finding.page if self.console_url else ""

    def render(self, markup: Markup) -> str:
        """The text of the message: the findings with their counts, the crawl, examples, links to the console."""
        facts = self.facts
        lines = [f"### {self.title}" if markup.markdown else self.title, ""]
        lines += [f"- {markup.bold(f.short)}：{f.detail}" for f in self.findings]
        lines += [
            f"- 站点 site：{facts.site}",
            f"- 时间 time：{facts.finished_at.astimezone(BEIJING):%Y-%m-%d %H:%M}（北京时间）",
            f"- 本次抓取 crawl：页面 {facts.pages}，广告 {facts.items}，错误 {facts.errors}",
        ]
        return "\n".join(lines + self._examples(markup) + self._links(markup))

    def _examples(self, markup: Markup) -> list[str]:
        if not any(f.rule == "high_risk_hits" for f in self.findings) or not self.facts.examples:
            return []
        return ["", markup.bold("命中示例 examples："), *(
            f"{n}. {markup.link(plain_text(e.title) or '（无标题）', e.url)} {plain_text(e.article.split('；')[0], 30)}"
            f"「{plain_text(e.matched, 30)}」" for n, e in enumerate(self.facts.examples, 1))]  # fmt: skip

    def _links(self, markup: Markup) -> list[str]:
        if not self.console_url:
            return []
        pages = {self.link(f): LINK_LABELS[f.rule] for f in self.findings}
        return ["", *(f"- {markup.link(label, url)}" for url, label in pages.items())]

    def as_json(self) -> dict[str, Any]:
        """The generic webhook's body: the counts as fields, and the text the robots get."""
        facts = self.facts
        return {
            "source": "adwatch",
            "site": facts.site,
            "time": facts.finished_at.astimezone(BEIJING).isoformat(timespec="seconds"),
            "title": self.title,
            "text": self.render(Markup(markdown=True)),
            "alerts": [{"rule": f.rule, "label": RULE_LABELS[f.rule], "summary": f.headline, "link": self.link(f)}
                       for f in self.findings],
            "crawl": {"finish_reason": facts.finish_reason, "pages": facts.pages, "items": facts.items,
                      "errors": facts.errors, "new_hits": facts.new_hits, "new_hit_ads": facts.new_hit_ads},
            "examples": [asdict(e) for e in facts.examples],
        }  # fmt: skip


def alerts_for(plan: AlertsFile, facts: CrawlFacts, console_url: str) -> list[tuple[Channel, Alert]]:
    """Each channel with the alert it gets for this crawl: the findings of its rules; none when none fired."""
    findings = evaluate(plan.rules, facts)
    alerts = []
    for channel in plan.channels:
        mine = [f for f in findings if f.rule in channel.rules]
        if mine:
            alerts.append((channel, Alert(facts, mine, console_url)))
    return alerts

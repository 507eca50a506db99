"""adwatch — 网络广告监测 command line (AdWatch CLI).

Every command's help is in Chinese with English beside it.
"""

from __future__ import annotations

import importlib
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from crawler.exceptions import AdWatchError

if TYPE_CHECKING:
    from crawler.config import AdWatchConfig

err_console = Console(stderr=True)
out_console = Console()


def _config() -> AdWatchConfig:
    from crawler.config import AdWatchConfig, project_settings

    return AdWatchConfig.from_settings(project_settings())


def _log_overrides(config: AdWatchConfig) -> dict[str, Any]:
    """Crawl logs go to a file so the console shows progress and results only."""
    log_dir = config.data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    return {"LOG_FILE": str(log_dir / f"crawl-{datetime.now():%Y%m%d-%H%M%S}.log"), "LOG_FILE_APPEND": False}


class CrawlProgress:
    """Rich progress bars, one line per site: pages fetched, ads found."""

    def __init__(self, sites: list[str], enabled: bool) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.fields[site]}"),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err_console,
            disable=not enabled,
        )
        self.counts = {site: {"page": 0, "item": 0} for site in sites}
        self.tasks = {site: self.progress.add_task(self._text(site), site=site, total=None) for site in sites}

    def _text(self, site: str) -> str:
        c = self.counts[site]
        return f"页面 pages {c['page']:>5}  ·  广告 ads {c['item']:>4}"

    def __call__(self, site: str, event: str) -> None:
        if event == "done":
            self.progress.update(self.tasks[site], description=self._text(site) + "  ✓ 完成 done", total=1, completed=1)
            return
        self.counts[site][event] += 1
        self.progress.update(self.tasks[site], description=self._text(site))


def _run_crawl(sites: list[str], base_urls: dict[str, str], show_progress: bool, extra: dict | None = None):
    from crawler.run import crawl_sites

    config = _config()
    overrides = {"ADWATCH_BASE_URLS": {**config.base_urls, **base_urls}, **_log_overrides(config), **(extra or {})}
    progress = CrawlProgress(sites, enabled=show_progress)
    with progress.progress:
        results = crawl_sites(sites, overrides, on_progress=progress)
    return results, overrides["LOG_FILE"]


class LazyGroup(click.Group):
    """A group whose packages' command groups are imported only when one of them is run.

    ``adwatch rules check`` then loads the rule engine without Scrapy, FastAPI and the
    search clients, which the other groups need.
    """

    def __init__(self, *args: Any, lazy_commands: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            module_name, attribute = self.lazy_commands[cmd_name].split(":")
            self.add_command(getattr(importlib.import_module(module_name), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)


# Each package brings its own command group; the CLI gathers them.
PACKAGE_COMMANDS = {
    "rules": "rules.cli:rules",
    "index": "indexer.cli:index",
    "evidence": "evidence.cli:evidence",
    "schedule": "scheduler:schedule",
    "serve": "dashboards.cli:serve",
    "users": "dashboards.cli:users",
    "fleet": "crawler.fleet.cli:fleet",
}


@click.group(
    cls=LazyGroup, lazy_commands=PACKAGE_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]}
)
def cli() -> None:
    """AdWatch 网络广告监测：抓取广告与商品页面，依《广告法》检查，供审核。

    AdWatch crawls ads and listings, checks them against the Advertising Law
    and stores the hits for review.
    """


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="以一个 JSON 对象输出摘要 / print the summary as one JSON object")
@click.option(
    "--port-base",
    type=int,
    default=None,
    help="沙盒站点起始端口（默认 8601，被占用的默认端口改用空闲端口），0 为随机端口 / "
    "first sandbox port (default 8601, busy default ports give way to free ones; 0 = any free ports)",
)
@click.option(
    "--evidence/--no-evidence",
    default=False,
    show_default=True,
    help="为每条疑似违法广告截图取证（每页约 1 秒）/ capture evidence for every flagged ad (~1 s a page)",
)
def demo(as_json: bool, port_base: int | None, evidence: bool) -> None:
    """演示：启动本地沙盒网站，全部抓取、检查、入库，并与标注对比。

    Demo: start the local sandbox web, crawl all its sites, check, store, and
    score the hits against the sandbox's ground truth.
    """
    from crawler.config import project_settings
    from crawler.spiderloader import ProfileSpiderLoader
    from indexer.sqlite import SqliteStore
    from sandbox.demo import summarise
    from sandbox.manifest import load_manifest
    from sandbox.server import DEFAULT_PORT_BASE, SandboxWeb

    loader = ProfileSpiderLoader(project_settings())
    sandbox_sites = [name for name in loader.list() if loader.profiles[name].group == "sandbox"]
    # The default ports give way to free ones when another program holds them; ports asked for do not.
    chosen = DEFAULT_PORT_BASE if port_base is None else (port_base or None)
    with SandboxWeb(port_base=chosen, free_port_if_busy=port_base is None) as web:
        if web.busy_ports:
            busy = "、".join(str(port) for port in web.busy_ports)
            err_console.print(
                f"[yellow]端口 {busy} 已被占用，相应站点改用空闲端口 / port(s) {busy} busy, "
                "those sites use free ports instead[/]"
            )
        if not as_json:
            err_console.print(f"沙盒网站已启动 sandbox web up: {len(web.base_urls)} 个站点 sites")
        results, log_file = _run_crawl(
            sandbox_sites, web.base_urls, show_progress=not as_json, extra={"ADWATCH_EVIDENCE_ENABLED": evidence}
        )
        config = _config()
        strip = {name: list(loader.profiles[name].strip_params) for name in sandbox_sites}
        with SqliteStore(config.db_path) as store:
            summary = summarise(store, results, load_manifest(), web.base_urls, strip)
    summary.raw_dir = str(config.raw_dir.resolve())
    if as_json:
        click.echo(json.dumps({**summary.as_json(), "log_file": log_file}, ensure_ascii=False))
        return
    _print_summary(summary, log_file)


def _print_findings(findings: dict[str, dict[str, float | int]]) -> None:
    """Findings beyond ads (issue #20), one row a kind (rule id), scored at page level."""
    table = Table(title="广告以外的发现（页面级） findings beyond ads (page level)")
    for column in ("类型 kind", "标注 truth", "发现 found", "精确率 P", "召回率 R"):
        table.add_column(column, justify="left" if column == "类型 kind" else "right")
    for kind, figures in findings.items():
        table.add_row(kind, str(figures["expected"]), str(figures["found"]),
                      f"{figures['precision']:.3f}", f"{figures['recall']:.3f}")  # fmt: skip
    out_console.print(table)


def _print_summary(summary, log_file: str) -> None:
    from rules.engine import CATEGORY_LABELS

    sites = Table(title="各站点 per site", show_lines=False)
    for column in ("站点 site", "页面 pages", "广告 ads", "错误 errors"):
        sites.add_column(column, justify="right" if column != "站点 site" else "left")
    for site, figures in summary.per_site.items():
        sites.add_row(site, str(figures["pages"]), str(figures["ads"]), str(figures["errors"]))
    out_console.print(sites)

    articles = Table(title="命中（按条款） hits by article")
    articles.add_column("条款 article")
    articles.add_column("命中 hits", justify="right")
    for article, count in summary.hits_by_article.items():
        articles.add_row(article, str(count))
    out_console.print(articles)

    categories = Table(title="命中（按类别） hits by category")
    categories.add_column("类别 category")
    categories.add_column("命中 hits", justify="right")
    for category, count in summary.hits_by_category.items():
        categories.add_row(f"{CATEGORY_LABELS.get(category, category)} {category}", str(count))
    out_console.print(categories)
    _print_findings(summary.findings)

    totals = Table(title="汇总 summary", show_header=False)
    totals.add_column()
    totals.add_column(justify="right")
    for label, value in (
        ("抓取页面 pages fetched", summary.pages),
        ("广告/商品 ads", f"{summary.ads} / 标注 ground truth {summary.ground_truth_ads}"),
        ("站点 sites", len(summary.sites)),
        ("命中 hits", summary.hits),
        ("疑似违法广告 flagged ads", summary.flagged_ads),
        ("精确率 precision（广告级 ad level）", f"{summary.precision:.3f}"),
        ("召回率 recall（广告级 ad level）", f"{summary.recall:.3f}"),
        ("条款精确率 article precision", f"{summary.article_precision:.3f}"),
        ("条款召回率 article recall", f"{summary.article_recall:.3f}"),
        ("错误 errors", summary.errors),
    ):
        totals.add_row(label, str(value))
    out_console.print(totals)
    if summary.missing_ads:
        out_console.print(f"[yellow]未抓到的标注广告 ground-truth ads not crawled: {len(summary.missing_ads)}[/]")
    out_console.print(f"数据库 database: {summary.db_path}")
    out_console.print(f"原始响应 raw responses (WARC): {summary.raw_dir}")
    out_console.print(f"抓取日志 crawl log: {Path(log_file).resolve()}")


@cli.command()
@click.argument("sites", nargs=-1, required=True)
@click.option(
    "--base-url",
    "base_urls",
    multiple=True,
    metavar="SITE=URL",
    help="把站点指向另一地址 / point a site at another address",
)
@click.option("--fleet", "fleet_url", metavar="REDIS_URL",
              help="交给抓取集群，不在本机抓取 / hand the crawl to the fleet on this Redis instead of crawling here")
def crawl(sites: tuple[str, ...], base_urls: tuple[str, ...], fleet_url: str | None) -> None:
    """抓取一个或多个站点（站点即配置文件名）。

    Crawl one or more sites by profile name (see `scrapy list`).
    """
    from crawler.config import project_settings
    from crawler.spiderloader import ProfileSpiderLoader

    known = ProfileSpiderLoader(project_settings()).list()
    unknown = [s for s in sites if s not in known]
    if unknown:
        raise click.ClickException(
            f"未知站点 unknown site(s): {', '.join(unknown)}；可用 available: {', '.join(known)}"
        )
    overrides = {}
    for pair in base_urls:
        site, sep, url = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"应为 SITE=URL, got {pair!r}", param_hint="--base-url")
        overrides[site] = url
    if fleet_url:
        _enqueue_fleet_crawl(list(sites), fleet_url, bool(overrides))
        return
    results, log_file = _run_crawl(list(sites), overrides, show_progress=sys.stderr.isatty())
    table = Table(title="抓取结果 crawl results")
    for column in ("站点 site", "页面 pages", "广告 ads", "错误 errors", "结束原因 finish"):
        table.add_column(column)
    for r in results:
        table.add_row(r.site, str(r.pages), str(r.items), str(r.errors), r.finish_reason)
    out_console.print(table)
    out_console.print(f"数据库 database: {_config().db_path.resolve()}  ·  日志 log: {log_file}")


def _enqueue_fleet_crawl(sites: list[str], url: str, has_base_urls: bool) -> None:
    from crawler.fleet.cli import fleet_config
    from crawler.fleet.queue import FleetQueue

    if has_base_urls:
        raise click.UsageError("--base-url 对集群无效：请在各抓取节点设置 ADWATCH_BASE_URLS / "
                               "with --fleet, set ADWATCH_BASE_URLS on the workers instead")
    queue = FleetQueue(fleet_config(url))
    for site in sites:
        queue.start_crawl(site)
    out_console.print(f"已交给抓取集群 handed to the fleet: {', '.join(sites)}")
    out_console.print("查看进度 progress: adwatch fleet status")


@cli.command()
@click.option("--site", "sites", multiple=True, help="按站点筛选 / filter by site")
@click.option("--article", help="按条款筛选，如 广告法第九条 / filter by article key")
@click.option("--rule", "rule_id", help="按规则筛选 / filter by rule id")
@click.option("--status", help="审核状态 review status (pending|confirmed|dismissed|transferred)")
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl"]), default="table", show_default=True)
@click.option("--limit", type=int, default=0, help="最多条数，0 为不限 / at most N hits, 0 = all")
def hits(
    sites: tuple[str, ...], article: str | None, rule_id: str | None, status: str | None, fmt: str, limit: int
) -> None:
    """列出命中（现行版本），风险高者在前。 List hits on current ad versions, riskiest first."""
    from indexer.sqlite import SqliteStore

    config = _config()
    if not config.db_path.exists():
        raise click.ClickException(
            f"数据库不存在 no database at {config.db_path}；先运行 run `adwatch demo` or `adwatch crawl`"
        )
    with SqliteStore(config.db_path) as store:
        rows = store.current_hits(sites or None, article=article, rule_id=rule_id, status=status)
    rows = rows[:limit] if limit else rows
    if fmt == "jsonl":
        for row in rows:
            click.echo(json.dumps(_hit_record(row), ensure_ascii=False))
        return
    table = Table(title=f"命中 hits ({len(rows)})")
    for column in ("id", "站点 site", "条款 article", "规则 rule", "命中原文 matched", "标题 title"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["id"], row["site"], row["article"], row["rule_id"], row["matched"], row["title"][:40])
    out_console.print(table)


def _hit_record(row) -> dict[str, Any]:
    keys = (
        "id",
        "url",
        "canonical_url",
        "site",
        "rule_id",
        "law",
        "article",
        "article_key",
        "severity",
        "category",
        "matched",
        "start",
        "end",
        "explanation",
        "penalty",
        "review_status",
        "created_at",
    )
    return {key: row[key] for key in keys}


#: Ads fetched per request by ``adwatch search`` (the engines serve at most 10,000 in all by paging).
SEARCH_PAGE = 500
_DAY = click.DateTime(formats=["%Y-%m-%d"])


@cli.command()
@click.argument("query", required=False, default="")
@click.option("--site", "sites", multiple=True, help="按站点筛选，可重复 / filter by site (repeatable)")
@click.option("--category", "categories", multiple=True, help="按广告类别筛选 / filter by ad category")
@click.option("--article", "articles", multiple=True, help="命中条款，如 广告法第九条 / a hit cites this article key")
@click.option("--status", "statuses", multiple=True,
              type=click.Choice(["pending", "confirmed", "dismissed", "transferred"]),
              help="有该审核状态的命中 / has a hit in this review state")
@click.option("--from", "day_from", type=_DAY, help="抓取日期起（北京时间）/ fetched on or after (Beijing date)")
@click.option("--to", "day_to", type=_DAY, help="抓取日期止（北京时间）/ fetched on or before (Beijing date)")
@click.option("--sort", type=click.Choice(["relevance", "time", "risk"]), default="relevance", show_default=True,
              help="相关度、时间（新者在前）或风险（高者在前）/ best match, newest or riskiest first")
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl"]), default="table", show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="最多条数 / at most N ads")
def search(query: str, sites: tuple[str, ...], categories: tuple[str, ...], articles: tuple[str, ...],
           statuses: tuple[str, ...], day_from: datetime | None, day_to: datetime | None, sort: str, fmt: str,
           limit: int) -> None:
    """检索所有已抓取广告（现行版本）。 Search every crawled ad (its current version).

    \b
    语法 syntax:  糖尿病 根治 (都要有 all terms)   糖尿病 OR 高血压 (任一 either)
                  -治愈 或 NOT 治愈 (排除 exclude)   "有效率98%" (短语 phrase)
    单字、双字词均可检索，繁体按简体查找（治癒 = 治愈）。 Single characters and
    two-character words are found; traditional characters match simplified.
    """
    from indexer.backend import AdQuery

    ad_query = AdQuery(text=query, sites=sites, categories=categories, articles=articles, statuses=statuses,
                       day_from=f"{day_from:%Y-%m-%d}" if day_from else "",
                       day_to=f"{day_to:%Y-%m-%d}" if day_to else "", sort=sort)
    if not (query.strip() or ad_query.filtered):
        raise click.UsageError("请给出检索词或筛选条件 / give a query or a filter")
    total, ads = _search_ads(ad_query, limit)
    if fmt == "jsonl":
        for ad in ads:
            click.echo(json.dumps(_ad_record(ad), ensure_ascii=False))
        return
    table = Table(title=f"检索 search: {query} ({len(ads)} / {total})")
    for column in ("站点 site", "标题 title", "URL", "风险 risk", "抓取时间 fetched"):
        table.add_column(column, overflow="fold")
    for ad in ads:
        table.add_row(ad["site"], ad["title"], ad["url"], f"{ad['risk'] or 0:.2f}", ad["fetched_at"] or "")
    out_console.print(table)


def _search_ads(query: Any, limit: int) -> tuple[int, list[dict[str, Any]]]:
    """The total and up to ``limit`` ads of ``query`` from the backend ``ADWATCH_INDEX`` names, page by page."""
    from dataclasses import replace

    from crawler.config import project_settings
    from indexer.backends import open_index
    from indexer.config import IndexConfig

    config = IndexConfig.from_settings(project_settings())
    if not config.target.is_engine and not Path(config.target.location).exists():
        raise click.ClickException(
            f"数据库不存在 no database at {config.target.location}；先运行 run `adwatch demo` or `adwatch crawl`")
    index = open_index(config.target, config)
    try:
        ads: list[dict[str, Any]] = []
        while True:
            page = index.search_ads(replace(query, size=min(SEARCH_PAGE, limit - len(ads)), offset=len(ads)))
            ads += page.ads
            if not page.ads or len(ads) >= min(limit, page.total):
                return page.total, ads
    finally:
        index.close()


def _ad_record(ad: dict[str, Any]) -> dict[str, Any]:
    """One ad of ``adwatch search --format jsonl``: ``id`` is its stable ad key."""
    keys = ("url", "canonical_url", "site", "title", "seller", "risk", "fetched_at", "categories", "hit_count")
    return {"id": ad["ad_key"], **{key: ad[key] for key in keys}}


@cli.group()
def sandbox() -> None:
    """本地沙盒网站（离线演示与测试用）。 The local sandbox web for the demo and the tests."""


@sandbox.command("serve")
@click.option("--port-base", type=int, default=None, help="起始端口 / first port (default 8601)")
def sandbox_serve(port_base: int | None) -> None:
    """启动沙盒网站直到 Ctrl-C。 Serve the sandbox sites until Ctrl-C."""
    from sandbox.server import DEFAULT_PORT_BASE, SandboxWeb

    with SandboxWeb(port_base=port_base or DEFAULT_PORT_BASE) as web:
        for site, url in web.base_urls.items():
            out_console.print(f"{site:<12} {url}")
        out_console.print("按 Ctrl-C 停止 press Ctrl-C to stop")
        try:
            import threading

            threading.Event().wait()
        except KeyboardInterrupt:
            pass


def main() -> None:
    try:
        cli.main(standalone_mode=True)
    except AdWatchError as exc:
        err_console.print(f"[red]错误 error:[/] {exc}", soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()

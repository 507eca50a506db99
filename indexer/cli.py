"""``adwatch index …``: set up, inspect, rebuild and replay the search index (Elasticsearch / OpenSearch)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from crawler.config import project_settings
from crawler.exceptions import AdWatchError
from indexer.backends import open_engine, open_index
from indexer.config import IndexConfig, parse_index_url
from indexer.engine import EngineIndex
from indexer.journal import Journal
from indexer.ledger import Ledger
from indexer.lifecycle import rebuild as rebuild_index
from indexer.writer import JournaledWriter

F = TypeVar("F", bound=Callable[..., Any])


def _readable_errors(command: F) -> F:
    """AdWatch errors (engine down, bad settings) become one readable line and exit status 1."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except AdWatchError as exc:
            raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc

    return wrapper  # type: ignore[return-value]


def _config() -> IndexConfig:
    return IndexConfig.from_settings(project_settings())


def _require_engine(config: IndexConfig) -> None:
    if not config.target.is_engine:
        raise click.ClickException(
            "ADWATCH_INDEX 指向内嵌 SQLite 存储，无需此操作 / ADWATCH_INDEX is the embedded SQLite store: "
            "set it to opensearch+http://HOST:PORT or es+https://HOST:PORT")


@contextmanager
def _engine(config: IndexConfig) -> Iterator[EngineIndex]:
    _require_engine(config)
    engine = open_engine(config.target, config)
    try:
        yield engine
    finally:
        engine.close()


@click.group("index")
def index() -> None:
    """搜索索引（Elasticsearch / OpenSearch）：初始化、状态、重建、重放。

    The search index named by ADWATCH_INDEX: set it up, show its state and
    journal backlog, rebuild it from the embedded store, replay the journal.
    """


@index.command("init")
@_readable_errors
def init() -> None:
    """创建索引模板、索引与别名（可重复执行）。 Create templates, indices and aliases (idempotent)."""
    config = _config()
    with _engine(config) as engine:
        engine.init()
        live, code = engine.live_version(), engine.names.version
    click.echo(f"已初始化 initialised {config.target.kind} · 别名 aliases {engine.names.ads_alias}, "
               f"{engine.names.hits_alias} · 映射版本 mapping version v{code}")
    if live is not None and live != code:
        click.echo(f"别名仍指向 v{live}；运行 `adwatch index rebuild` 切换 / aliases still on v{live}: "
                   "run `adwatch index rebuild` to fill and switch to the new version")


@index.command("status")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出 / print as one JSON object")
@_readable_errors
def status(as_json: bool) -> None:
    """索引与日志积压状态。 Index health, versions, document counts, and the journal backlog."""
    config = _config()
    report: dict[str, Any] = {"index": config.target.kind, "journal": str(config.journal_path)}
    if config.target.is_engine:
        report["engine"] = _engine_status(config)
    report["backlog"], report["rejected"] = _journal_status(config.journal_path)
    report["ledger"] = {"path": str(config.ledger_path), "indices": _ledger_status(config.ledger_path)}
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
        return
    _print_status(report)


def _engine_status(config: IndexConfig) -> dict[str, Any]:
    try:
        with _engine(config) as engine:
            return {"reachable": True, **engine.status()}
    except AdWatchError as exc:
        return {"reachable": False, "error": str(exc)}


def _journal_status(path: Path) -> tuple[dict[str, Any], list[dict[str, str]]]:
    if not path.exists():
        return {"pending": 0, "rejected": 0, "oldest_pending": None}, []
    journal = Journal(path)
    try:
        rejected = [{"id": e.doc_id, "reason": e.reason} for e in journal.entries("rejected", limit=20)]
        return journal.backlog(), rejected
    finally:
        journal.close()


def _ledger_status(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    ledger = Ledger(path)
    try:
        return ledger.summary()
    finally:
        ledger.close()


def _print_status(report: dict[str, Any]) -> None:
    engine = report.get("engine")
    if engine is None:
        click.echo("索引 index: 内嵌 SQLite 存储 the embedded SQLite store")
    elif not engine["reachable"]:
        click.echo(f"引擎不可达 engine unreachable: {engine['error']}")
    else:
        click.echo(f"引擎 engine: {engine['engine']} · 集群 cluster {engine['cluster']} · 映射版本 mapping "
                   f"live v{engine['live_version']} / code v{engine['code_version']}")
        for row in engine["indices"]:
            aliases = ", ".join(row["aliases"]) or "-"
            click.echo(f"  {row['index']:<40} {row['docs']:>9} docs  {row['health'] or '':<7} → {aliases}")
    backlog = report["backlog"]
    click.echo(f"日志积压 journal backlog: 待写 pending {backlog['pending']} 件 items"
               f" (最早 oldest {backlog['oldest_pending'] or '-'}) · 被拒 rejected {backlog['rejected']} 份 docs"
               f" · {report['journal']}")
    for rejection in report["rejected"]:
        click.echo(f"  被拒 rejected {rejection['id']}: {rejection['reason']}")
    ledger = report["ledger"]
    for row in ledger["indices"]:
        state = "完整 complete" if row["complete"] else "下次写入前重读索引 read again before the next write"
        click.echo(f"写入账本 write ledger: {row['index']} {row['ads']} 个广告 ads · {state} · {ledger['path']}")


@index.command("rebuild")
@click.option("--from", "source", default="sqlite", show_default=True,
              help="来源：sqlite（内嵌存储）或另一索引 URL / source: sqlite (the embedded store) or an index URL")
@click.option("--drop-old", is_flag=True,
              help="切换后删除旧版本索引 / delete the old version's indices after the switch")
@_readable_errors
def rebuild(source: str, drop_old: bool) -> None:
    """从内嵌存储（或另一后端）重建索引，别名切换无停机。 Rebuild the index from the store or another backend."""
    config = _config()
    origin_target = parse_index_url("" if source == "sqlite" else source, _store_path())
    if origin_target == config.target:
        raise click.ClickException("来源与目标相同 source and target are the same backend (see ADWATCH_INDEX)")
    origin = open_index(origin_target, config)
    target = open_index(config.target, config)
    try:
        report = rebuild_index(target, origin.iter_items(), config.batch_size, drop_old,  # type: ignore[attr-defined]
                               on_batch=lambda n: click.echo(f"  … {n} 件 items", err=True))
    finally:
        origin.close()
        target.close()
    if report.rejected:
        _journal_rejections(config, report.rejected)
    switched = f" · 别名切换 aliases v{report.previous_version} → v{report.version}" \
        if report.version is not None and report.previous_version != report.version else ""
    click.echo(f"已重建 rebuilt: {report.items} 件 items, {report.written} 份文档 docs, "
               f"被拒 rejected {len(report.rejected)}{switched}")


def _store_path() -> Path:
    settings = project_settings()
    data_dir = Path(settings.get("ADWATCH_DATA_DIR") or "data")
    return Path(settings.get("ADWATCH_DB_PATH") or data_dir / "adwatch.db")


def _journal_rejections(config: IndexConfig, rejections: list) -> None:
    journal = Journal(config.journal_path)
    try:
        journal.append_rejections(rejections)
    finally:
        journal.close()


@index.command("replay")
@click.option("--rejected", "retry_rejected", is_flag=True,
              help="同时重试被拒文档（修正映射后）/ also retry rejected documents (after a mapping fix)")
@_readable_errors
def replay(retry_rejected: bool) -> None:
    """立即按顺序重放日志中的积压。 Replay the journal's backlog now, in order."""
    config = _config()
    _require_engine(config)
    writer = JournaledWriter(open_engine(config.target, config), Journal(config.journal_path),
                             replay_batch=config.batch_size)
    try:
        report = writer.replay(force=True)
        if retry_rejected:
            report.add(writer.retry_rejected())
        backlog = writer.journal.backlog()
    finally:
        writer.close()
    click.echo(f"已重放 replayed {report.replayed} 件 items ({report.written} 份文档 docs) · 被拒 rejected "
               f"{report.rejected} · 剩余 left: 待写 pending {backlog['pending']}, 被拒 rejected {backlog['rejected']}")
    if report.failures:
        raise click.ClickException("引擎仍不可用，积压保留 engine still unavailable; the backlog is kept")



if __name__ == "__main__":
    index()

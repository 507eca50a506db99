"""``adwatch rules …``: check texts, list and lint the rulebook, evaluate on a labelled set."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from rules.engine import CheckResult, Hit, RuleEngine
from rules.evaluate import LABELLED_SETS, LabelledSet, Report, evaluate, read_items
from rules.jsonl import MAX_LINE_BYTES, InputLineError, parse_object, read_objects
from rules.normalize import replace_lone_surrogates
from rules.rulebook import (
    CATEGORY_LABELS,
    DEFAULT_RULEBOOK_DIR,
    LEXICON_FILE,
    RulebookError,
    lint_rule_files,
    load_rulebook,
    rule_files,
)

SEVERITY_LABELS = {"high": "高", "medium": "中", "low": "低"}
HIT_FIELDS = ("rule_id", "law", "article", "severity", "matched", "start", "end", "explanation", "kind", "see_also")


def _engine(ctx: click.Context) -> RuleEngine:
    folder = ctx.obj.get("rulebook") or DEFAULT_RULEBOOK_DIR
    try:
        return _cached_engine(Path(folder).resolve())
    except RulebookError as exc:
        raise click.ClickException("规则库有误 rulebook is invalid:\n" + str(exc)) from exc


@lru_cache(maxsize=4)
def _cached_engine(folder: Path) -> RuleEngine:
    return RuleEngine.from_directory(folder)


@click.group(name="rules")
@click.option(
    "--rulebook",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="规则库目录（默认随附规则库）/ rulebook folder (default: the shipped rulebook).",
)
@click.pass_context
def rules(ctx: click.Context, rulebook: Path | None) -> None:
    """规则引擎：检查广告文字、查看与校验规则库、评估准确率。 Ad-compliance rules: check, list, lint, evaluate."""
    ctx.ensure_object(dict)
    ctx.obj["rulebook"] = rulebook


@rules.command()
@click.argument("source", required=False, type=click.File("rb"))
@click.option(
    "--text", "text", default=None, help="检查这段文字并输出中文报告 / check this text, print a readable report"
)
@click.option("--title", default="", help="广告标题（仅用于分类）/ title of the --text ad (classification only)")
@click.option(
    "--category", "categories", multiple=True, help="类别提示，如 drug 或 药品 / category hint, e.g. drug or 药品"
)
@click.option("--format", "fmt", type=click.Choice(["jsonl", "text"]), default=None, help="输出格式 / output format")
@click.option(
    "--max-line-bytes",
    type=click.IntRange(min=1024),
    default=MAX_LINE_BYTES,
    show_default=True,
    help="单行上限（字节），超长行输出错误记录并跳过 / longest input line; a longer one gets an error record",
)
@click.pass_context
def check(
    ctx: click.Context,
    source: BinaryIO | None,
    text: str | None,
    title: str,
    categories: tuple[str, ...],
    fmt: str | None,
    max_line_bytes: int,
) -> None:
    """检查广告文字。 Check ad texts: JSON lines {"id","text","title"?,"category"?} from FILE or - (stdin)."""
    engine = _engine(ctx)
    if text is not None:
        result = engine.check(text, title=title, category_hints=categories)
        if fmt == "jsonl":
            click.echo(json.dumps(result_to_json("text", result), ensure_ascii=False))
        else:
            print_report(Console(), text, result)
        return
    stream: BinaryIO = source if source is not None else sys.stdin.buffer
    errors = _check_stream(engine, stream, max_line_bytes)
    if errors:
        click.echo(f"{errors} 行无法检查 / {errors} input line(s) could not be checked", err=True)
        ctx.exit(1)


def _check_stream(engine: RuleEngine, stream: BinaryIO, max_line_bytes: int = MAX_LINE_BYTES) -> int:
    """Check each JSON line of ``stream``; a bad line gets an error record in its place, and the rest go on."""
    errors = 0
    for number, raw, data in read_objects(stream, max_line_bytes):
        try:
            if isinstance(data, InputLineError):
                raise data
            item = validate_input(data)
        except InputLineError as exc:
            errors += 1
            click.echo(f"第 {number} 行无法检查 line {number}: {exc}", err=True)
            record = {"id": _loose_id(raw.decode("utf-8", "replace")), "line": number, "error": str(exc)}
            click.echo(json.dumps(record, ensure_ascii=False))
            continue
        hints = (item["category"],) if item.get("category") else ()
        result = engine.check(item["text"], title=item.get("title") or "", category_hints=hints)
        click.echo(json.dumps(result_to_json(item["id"], result), ensure_ascii=False))
    return errors


def validate_input(data: dict[str, Any]) -> dict[str, Any]:
    """Validate one input line's object.

    JSON can escape a lone surrogate (``"\\ud851"``), which is no character and cannot be
    written out again: each becomes U+FFFD, one character for one, so offsets still hold.
    """
    if "id" not in data:
        raise InputLineError("missing field 'id'")
    if not isinstance(data.get("text"), str):
        raise InputLineError("field 'text' must be a string")
    for name in ("title", "category"):
        if data.get(name) is not None and not isinstance(data[name], str):
            raise InputLineError(f"field '{name}' must be a string")
    return {key: _mend(value) for key, value in data.items()}


def _mend(value: Any) -> Any:
    """``value`` with each lone surrogate replaced by U+FFFD, when it is a string."""
    return replace_lone_surrogates(value) if isinstance(value, str) else value


_LEADING_ID = re.compile(r'\s*\{\s*"id"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d{1,30}(?=\s*[,}]))')


def _loose_id(line: str) -> Any:
    """The ``id`` of a line that could not be checked, when one can be read: from the whole line, else its start."""
    try:
        return _mend(parse_object(line).get("id"))
    except InputLineError:
        pass
    leading = _LEADING_ID.match(line)
    return _mend(json.loads(leading.group(1))) if leading else None


def hit_to_json(hit: Hit) -> dict[str, Any]:
    """The stable JSON shape of one hit."""
    return {name: getattr(hit, name) for name in HIT_FIELDS}


def result_to_json(item_id: Any, result: CheckResult) -> dict[str, Any]:
    """The stable JSON shape of one checked item."""
    return {
        "id": item_id,
        "flagged": result.flagged,
        "categories": result.categories,
        "hits": [hit_to_json(hit) for hit in result.hits],
    }


def print_report(console: Console, text: str, result: CheckResult) -> None:
    """Print a readable Chinese report of one check."""
    labels = "、".join(CATEGORY_LABELS.get(key, key) for key in result.categories)
    console.print(f"[bold]广告类别[/bold]：{labels}")
    for key, reason in result.category_reasons.items():
        console.print(f"  · {CATEGORY_LABELS.get(key, key)}：{reason}")
    if not result.hits:
        console.print("[green]未发现违法风险点。[/green]")
        return
    console.print(f"[bold red]发现 {len(result.hits)} 处风险点[/bold red]（风险分 {result.risk:.2f}）")
    for number, hit in enumerate(result.hits, 1):
        where = f"第 {hit.start}–{hit.end} 字" if hit.end > hit.start else "全文"
        quoted = f"“{escape(hit.matched)}”" if hit.matched else "（缺少必备内容）"
        severity = SEVERITY_LABELS.get(hit.severity, hit.severity)
        console.print(f"\n[bold]{number}. {quoted}[/bold]  {where}  严重程度：{severity}  [dim]{hit.rule_id}[/dim]")
        console.print(f"   违反条款：{escape(hit.article)}（{hit.law}）")
        console.print(f"   说明：{escape(hit.explanation)}")
        console.print(f"   罚则：{escape(hit.penalty)}")


@rules.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出规则 / print the rules as JSON")
@click.pass_context
def list_rules(ctx: click.Context, as_json: bool) -> None:
    """查看规则库。 Show the rulebook."""
    engine = _engine(ctx)
    if as_json:
        rows = [
            rule.model_dump(include={"id", "article", "article_key", "severity", "categories"}) for rule in engine.rules
        ]
        click.echo(json.dumps({"version": engine.rulebook_version, "rules": rows}, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"规则库 rulebook {engine.rulebook_version}（{len(engine.rules)} 条规则）")
    for header in ("规则 id", "条款", "严重程度", "适用类别"):
        table.add_column(header)
    for rule in engine.rules:
        cats = "全部" if "all" in rule.categories else "、".join(CATEGORY_LABELS[c] for c in rule.categories)
        table.add_row(rule.id, rule.article, SEVERITY_LABELS[rule.severity], cats)
    Console().print(table)


@rules.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def lint(files: tuple[Path, ...]) -> None:
    """校验规则文件（默认整个规则库），有问题时以非零状态退出。 Validate rule files; non-zero exit on any problem."""
    problems, count = _lint(files)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        click.echo(f"发现 {len(problems)} 个问题 / {len(problems)} problem(s) found", err=True)
        sys.exit(1)
    click.echo(f"通过：{count} 条规则 / OK: {count} rules")


def _lint(files: Sequence[Path]) -> tuple[list[str], int]:
    if not files:
        try:
            return [], len(load_rulebook(DEFAULT_RULEBOOK_DIR).rules)
        except RulebookError as exc:
            return exc.problems, 0
    targets = [path for path in files if path.name != LEXICON_FILE]
    rule_paths = [path for path in targets if path.name in {p.name for p in rule_files(path.parent)}]
    rules_found, _versions, problems = lint_rule_files(rule_paths)
    return problems, len(rules_found)


@rules.command(name="eval")
@click.argument("source", required=False, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--set",
    "set_names",
    multiple=True,
    type=click.Choice([s.name for s in LABELLED_SETS]),
    help="只评测这些随附标注集（默认全部）/ score only these shipped sets (default: all)",
)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出指标 / print the figures as JSON")
@click.option(
    "--hints/--no-hints",
    default=None,
    help="是否把标注的类别作为提示（默认：自编集给、真实案例集不给）/ pass the labelled category as a hint "
    "(default: yes for the devset and a FILE, no for the real-case sets)",
)
@click.option(
    "--mismatches", is_flag=True, help="列出引擎与标注不一致的条目 / list the items where engine and labels disagree"
)
@click.pass_context
def eval_command(
    ctx: click.Context,
    source: Path | None,
    set_names: tuple[str, ...],
    as_json: bool,
    hints: bool | None,
    mismatches: bool,
) -> None:
    """在标注集上计算精确率、召回率和条款准确率。 Precision, recall, article accuracy on labelled sets.

    不给 FILE 时评测随附的三个集：自编开发集、真实案例开发集、冻结的真实案例测试集。
    Without FILE, scores the shipped sets: the self-written devset, the real-case dev part and the frozen real-case
    test part, each on its own.
    """
    engine = _engine(ctx)
    if source is not None:
        chosen = [LabelledSet("file", str(source), source, True)]
    else:
        chosen = [s for s in LABELLED_SETS if not set_names or s.name in set_names]
    reports: dict[str, Report] = {}
    for labelled in chosen:
        use_hints = labelled.hints if hints is None else hints
        try:
            reports[labelled.name] = evaluate(engine, read_items(labelled.path), use_hints=use_hints)
        except InputLineError as exc:
            raise click.ClickException(f"标注集无法读取 cannot read the labelled set: {exc}") from exc
    if as_json:
        data = {name: report.as_dict() for name, report in reports.items()}
        if not mismatches:
            for entry in data.values():
                entry.pop("mismatches")
        click.echo(json.dumps(data["file"] if source is not None else data, ensure_ascii=False, indent=2))
        return
    console = Console(width=max(Console().width, 160))
    for labelled in chosen:
        console.print(_metrics_table(reports[labelled.name], labelled.label))
        if mismatches:
            for row in _mismatch_lines(reports[labelled.name]):
                console.print(row, markup=False)


def _metrics_table(report: Report, title: str) -> Table:
    table = Table(title=f"规则引擎评测 evaluation：{title}")
    for header in (
        "类别 category",
        "条数 items",
        "违法 violations",
        "精确率 precision",
        "召回率 recall",
        "条款准确率 article accuracy",
        "条款完全一致 exact articles",
    ):
        table.add_column(header, justify="right")
    rows = [("全部 overall", report.overall.metrics())]
    rows += [(f"{CATEGORY_LABELS.get(k, k)} {k}", c.metrics()) for k, c in sorted(report.by_category.items())]
    for name, m in rows:
        table.add_row(
            name,
            str(m["items"]),
            str(m["tp"] + m["fn"]),
            f"{m['precision']:.3f}",
            f"{m['recall']:.3f}",
            f"{m['article_accuracy']:.3f}",
            f"{m['article_exact']:.3f}",
        )
    return table


def _mismatch_lines(report: Report) -> Iterator[str]:
    for row in report.mismatches:
        yield f"{row['id']}: expected {row['expected']} got {row['predicted']} {row['hits']} | {row['text']}"

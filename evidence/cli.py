"""``adwatch evidence`` — export evidence bundles for the inspection corps, verify them, group hits in cases."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from crawler.config import project_settings
from crawler.exceptions import EvidenceError
from evidence.config import EvidenceConfig

if TYPE_CHECKING:
    from dashboards.cases import CaseRegister


def _config() -> EvidenceConfig:
    try:
        return EvidenceConfig.from_settings(project_settings())
    except EvidenceError as exc:
        raise click.ClickException(str(exc)) from exc


def _require_db(config: EvidenceConfig) -> None:
    if not config.db_path.exists():
        raise click.ClickException(
            f"数据库不存在 no database at {config.db_path}；先运行 run `adwatch crawl` or `adwatch demo`"
        )


@click.group()
def evidence() -> None:
    """取证：导出证据包、校验、立案。 Evidence: export bundles, verify them, group hits in cases."""


@evidence.command()
@click.argument("hit_ids", nargs=-1)
@click.option("--case", "case_id", help="导出该案件的全部命中 / export every hit of this case")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="证据包路径 / the bundle to write (.zip)",
)
@click.option("--operator", default=None, help="导出人，默认当前系统用户 / who exports (default: the OS user)")
def export(hit_ids: tuple[str, ...], case_id: str | None, output: Path, operator: str | None) -> None:
    """导出命中的证据包（证据文件、PDF 取证报告、CSV 索引、保管链）。

    Export hits as one bundle: their evidence packages, a PDF report in
    Chinese, a CSV index and the chain of custody, every file hashed.
    """
    from evidence.custody import default_operator
    from evidence.export import export_bundle

    config = _config()
    _require_db(config)
    if bool(hit_ids) == bool(case_id):
        raise click.UsageError("给出命中编号或 --case 其一 / give hit ids or --case, not both or neither")
    people: dict[str, object] = {}
    if case_id:
        with _register(config) as register:
            hit_ids, people = tuple(register.hit_ids(case_id)), register.custody_people(case_id)
        if not hit_ids:
            raise click.ClickException(
                f"案件无命中 case {case_id!r} has no hits; add some with `adwatch evidence case add`"
            )
    try:
        result = export_bundle(config, list(hit_ids), output, operator or default_operator(), case_id or "", people)
    except EvidenceError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"已导出 exported {result.hits} 条命中 hits, {result.packages} 个证据包 packages → {result.path}")
    if result.signed or result.timestamped:
        click.echo(f"签名 signed: {result.signed}  可信时间戳 timestamped: {result.timestamped}")
    if result.missing:
        click.echo(
            f"注意 note: {len(result.missing)} 条命中无证据包 hits without a package: {', '.join(result.missing)}",
            err=True,
        )


@evidence.command()
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--public-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="另一把可信的签名公钥（PEM），在本局公钥之外 / one more trusted signer key, beside the bureau's",
)
@click.option("--tsa-fingerprint", default="", help="时间戳机构证书 SHA-256 指纹 / the TSA certificate's SHA-256")
@click.option("--allow-unsigned", is_flag=True, help="接受未签名的证据包 / accept a bundle nobody signed")
def verify(bundle: Path, public_key: Path | None, tsa_fingerprint: str, allow_unsigned: bool) -> None:
    """校验证据包：重算每个文件的哈希，核对每项均已取证、PDF 与保管链和清单一致，签名须出自本局公钥。

    Verify a bundle: recompute every hash, check every item was captured and the PDF states what custody.json
    and the manifest hold; a signature counts only by the bureau's keys (ADWATCH_EVIDENCE_TRUSTED_KEYS and the
    signing key's own).  Names each problem in Chinese; exits 1 if any.
    """
    from evidence.signing import trusted_keys
    from evidence.verify import verify_bundle

    config = _config()
    try:
        trusted = trusted_keys(config.trusted_keys, config.signing_key)
        trusted += [public_key.read_bytes()] if public_key else []
        result = verify_bundle(bundle, trusted, tsa_fingerprint, allow_unsigned)
    except EvidenceError as exc:
        raise click.ClickException(str(exc)) from exc
    for note in result.notes:
        click.echo(note)
    for problem in result.problems:
        click.echo(str(problem))
    if result.ok:
        click.echo(f"校验通过 OK: {result.files} 个文件 files, 哈希全部一致 every hash matches")
        return
    click.echo(f"校验失败 FAILED: {len(result.problems)} 处问题 problem(s)", err=True)
    sys.exit(1)


@contextmanager
def _register(config: EvidenceConfig) -> Iterator[CaseRegister]:
    """The one case register (in the console's database), with the store's older cases adopted into it."""
    from dashboards.cases import CaseRegister
    from dashboards.db import ConsoleDB
    from evidence.store import EvidenceStore

    db = ConsoleDB(config.cases_db_path)
    try:
        register = CaseRegister(db)
        with EvidenceStore(config.db_path) as store:
            register.adopt_legacy(store)
        yield register
    finally:
        db.close()


@evidence.group()
def case() -> None:
    """案件：与审核台共用的案件登记。 Cases: the register the review console shares."""


@case.command("add")
@click.argument("case_id")
@click.argument("hit_ids", nargs=-1, required=True)
@click.option("--inspector", default="", help="承办稽查人员的账号 / the inspector's console account")
@click.option("--by", "requested_by", default=None, help="提请人，默认当前系统用户 / who asks (default: the OS user)")
@click.option("--note", default="", help="移送说明 / the transfer note")
def case_add(case_id: str, hit_ids: tuple[str, ...], inspector: str, requested_by: str | None, note: str) -> None:
    """把命中加入案件（案件不存在则提请新案件，待科长在审核台批准）。

    Add hits to a case, asking for a new one (for a chief to approve in the console) if it does not exist.
    """
    from dashboards.cases import CaseError
    from evidence.custody import default_operator
    from indexer.sqlite import SqliteStore

    config = _config()
    _require_db(config)
    with SqliteStore(config.db_path) as store:
        unknown = [h for h in hit_ids if store.get_hit(h) is None]
    if unknown:
        raise click.ClickException(f"未知命中 unknown hit id(s): {', '.join(unknown)}")
    with _register(config) as register:
        try:
            register.request(case_id, list(hit_ids), inspector, note, requested_by or default_operator())
        except CaseError as exc:
            raise click.ClickException(str(exc)) from exc
        count = len(register.hit_ids(case_id))
    click.echo(f"案件 case {case_id}: {count} 条命中 hits")


@case.command("list")
def case_list() -> None:
    """列出案件：编号、状态、承办、命中数。 List the cases: number, state, inspector, hits."""
    config = _config()
    with _register(config) as register:
        for item in register.all():
            inspector = register.display_name(item.inspector) or "—"
            hits = len(register.hit_ids(item.case_no))
            click.echo(f"{item.case_no}\t{item.status_label}\t承办 {inspector}\t{hits} 条命中 hits")


@evidence.command()
def status() -> None:
    """各状态的取证命中数。 Hits with evidence, by status (ok, partial, missing)."""
    from evidence.store import EvidenceStore

    config = _config()
    _require_db(config)
    with EvidenceStore(config.db_path) as store:
        counts = store.statuses()
    for name in ("ok", "partial", "missing"):
        click.echo(f"{name}\t{counts.get(name, 0)}")

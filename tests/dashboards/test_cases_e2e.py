"""#15 items 3–5 and 7, in Debian's Chromium: one case register, inspectors with scope, evidence that holds.

A reviewer puts an ad with several hits, which the crawl never captured, into a case (its evidence is captured
then) and joins a second ad to the same case number; the chief approves it and exports it; the bundle verifies
against the bureau's pinned key with its custody naming who confirmed, approved and exported — and the same
bundle with custody edited and re-signed by another key does not, nor does a bundle of an uncaptured ad.  The
CLI exports the console's case and asks for a case of its own, which the chief approves in the console; an
inspector who is not the case's gets 403.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.config import project_settings
from dashboards.accounts import Accounts
from dashboards.db import ConsoleDB
from evidence.config import EvidenceConfig
from evidence.signing import trusted_keys
from evidence.verify import verify_bundle
from tests.conftest import CrawlRun
from tests.dashboards.conftest import PASSWORD, Console, browser_login, copy_crawl, serve_console
from tests.evidence.conftest import new_signing_key, reseal, run_evidence

CASE_NO = "稽-2026-0315"
CLI_CASE = "稽-2026-0316"
NOTE = "两条广告同一商家，证据齐全，请立案"


@pytest.fixture
def signed_console(crawled: CrawlRun, tmp_path: Path) -> Iterator[tuple[Console, Path]]:
    """The console with the bureau's signing key, and a second inspector (赵稽查) besides 王稽查."""
    key, _ = new_signing_key(tmp_path, "bureau")
    with serve_console(copy_crawl(crawled, tmp_path / "data"), "sqlite",
                       ADWATCH_EVIDENCE_SIGNING_KEY=str(key)) as console:
        db = ConsoleDB(console.config.db_path)
        Accounts(db).add("inspector2", PASSWORD, "inspector", display_name="赵稽查")
        db.close()
        yield console, key


def _sql(console: Console, query: str, *params: object) -> list[tuple]:
    with sqlite3.connect(console.db_path) as conn:
        return conn.execute(query, params).fetchall()


def _ads(console: Console, captured: bool, several: bool) -> list[str]:
    """One hit id per current ad, of ads the crawl captured evidence for or not, with several rules hit or one."""
    rows = _sql(console, f"""SELECT min(h.id) FROM hits h JOIN ads a ON a.current_version = h.version_id
                             WHERE h.rule_id NOT LIKE 'market-%' AND h.version_id {'' if captured else 'NOT'} IN
                             (SELECT version_id FROM hits WHERE id IN (SELECT hit_id FROM evidence))
                             GROUP BY h.version_id HAVING count(DISTINCT h.rule_id) {'>' if several else '='} 1
                             ORDER BY min(h.id)""")
    return [row[0] for row in rows]


def _version_hits(console: Console, hit_id: str) -> set[str]:
    return {row[0] for row in _sql(console, "SELECT id FROM hits WHERE version_id = "
                                            "(SELECT version_id FROM hits WHERE id = ?)", hit_id)}


def _request(page: object, console: Console, hit_id: str, join: bool = False) -> None:
    page.goto(f"{console.url}/hits/{hit_id}")  # type: ignore[attr-defined]
    page.fill("#case-no", CASE_NO)  # type: ignore[attr-defined]
    page.select_option("#inspector", label="王稽查")  # type: ignore[attr-defined]
    page.fill("#transfer-form input[name=note]", NOTE)  # type: ignore[attr-defined]
    if join:
        page.check("#join-case")  # type: ignore[attr-defined]
    page.click("#transfer")  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]
    assert "待批准" in page.locator("#case").inner_text()  # type: ignore[attr-defined]


def test_a_case_from_two_ads_to_a_verified_bundle(signed_console: tuple[Console, Path], browser: object,
                                                   tmp_path: Path) -> None:
    console, key = signed_console
    trusted = trusted_keys(EvidenceConfig.from_settings(project_settings({"ADWATCH_EVIDENCE_SIGNING_KEY": str(key)}))
                           .trusted_keys, key)
    env = {"ADWATCH_EVIDENCE_SIGNING_KEY": str(key)}
    uncaptured, joined = _ads(console, captured=False, several=True)[0], _ads(console, captured=True, several=False)[0]
    first_ad, second_ad = _version_hits(console, uncaptured), _version_hits(console, joined)
    assert len(first_ad) >= 2

    # Before any transfer the ad has no evidence: a bundle of it exports but never verifies.
    bare = tmp_path / "uncaptured.zip"
    assert run_evidence(["export", uncaptured, "-o", str(bare)], console.data_dir, env).returncode == 0
    check = run_evidence(["verify", str(bare)], console.data_dir, env)
    assert check.returncode == 1 and "未取证 UNCAPTURED: index.csv" in check.stdout

    # The reviewer confirms the ad and asks for its transfer: every hit of it goes into the case, its evidence
    # is captured then; a second ad joins the same case number.
    reviewer = browser_login(browser, console, "reviewer1")
    reviewer.goto(f"{console.url}/hits/{uncaptured}")
    reviewer.click("#confirm")
    reviewer.wait_for_load_state()
    # While a transfer works (capturing what lacks evidence) its form says so (a submit event only, not sent).
    reviewer.evaluate("document.getElementById('transfer-form').dispatchEvent(new Event('submit'))")
    assert "正在为未取证的广告取证" in reviewer.locator("#transfer-progress").inner_text()
    assert reviewer.locator("#transfer").is_disabled()
    _request(reviewer, console, uncaptured)
    _request(reviewer, console, joined, join=True)
    reviewer.context.close()
    held = {row[0] for row in _sql(console, "SELECT hit_id FROM evidence WHERE status IN ('ok', 'partial')")}
    assert first_ad <= held
    with sqlite3.connect(console.config.db_path) as conn:
        in_case = {row[0] for row in conn.execute("SELECT hit_id FROM case_hits WHERE case_no = ?", (CASE_NO,))}
    assert in_case == first_ad | second_ad

    # The chief approves it, reads the 移送说明 on the case page and exports the bundle.
    chief = browser_login(browser, console, "chief1")
    chief.goto(f"{console.url}/cases")
    row = chief.locator(f"tr[data-case='{CASE_NO}']")
    assert f"等 {len(in_case)} 处" in row.inner_text()
    row.locator("button", has_text="批准移送").click()
    chief.wait_for_load_state()
    assert "已移送" in chief.locator(f"tr[data-case='{CASE_NO}']").inner_text()
    chief.goto(f"{console.url}/cases/{CASE_NO}")
    assert f"移送说明：{NOTE}" in chief.locator("#case").inner_text()
    ads = chief.locator("#case-ads tr[data-hit]")  # the case page lists both ads, with their hits in the case
    assert ads.count() == 2
    assert sorted(int(n) for n in ads.locator("td.num").all_inner_texts()) == sorted([len(first_ad), len(second_ad)])
    with chief.expect_download() as download:
        chief.click("#export-case")
    bundle = tmp_path / "case.zip"
    download.value.save_as(bundle)
    result = verify_bundle(bundle, trusted)
    assert result.ok, result.problems
    with zipfile.ZipFile(bundle) as archive:
        custody = json.loads(archive.read("custody.json"))
    assert custody["exported_by"] == custody["approved_by"] == "李科长（chief1）"
    assert custody["confirmed_by"] == ["张三（reviewer1）"] and custody["requested_by"] == "张三（reviewer1）"
    assert (custody["inspector"], custody["transfer_note"]) == ("王稽查（inspector1）", NOTE)
    assert set(custody["hit_ids"]) == in_case

    # Custody edited and re-signed with a key of the forger's own: every hash agrees, and still it fails.
    forged = Path(shutil.copy(bundle, tmp_path / "forged.zip"))
    foreign, _ = new_signing_key(tmp_path, "forger")
    reseal(forged, "custody.json", lambda data: data.replace("李科长".encode(), "王局长".encode()), foreign)
    check = run_evidence(["verify", str(forged)], console.data_dir, env)
    assert check.returncode == 1
    assert "签名者未经确认 UNKNOWN SIGNER" in check.stdout and "PDF 与记录不符" in check.stdout

    # The CLI knows the console's case: it exports it, and the bundle verifies by the pinned key alone.
    exported = tmp_path / "cli.zip"
    run = run_evidence(["export", "--case", CASE_NO, "-o", str(exported)], console.data_dir, env)
    assert run.returncode == 0, run.output
    check = run_evidence(["verify", str(exported)], console.data_dir, env)
    assert check.returncode == 0, check.output

    # A case asked for with the CLI shows in the console; the chief names its inspector and approves it.
    third = next(hit for hit in _ads(console, captured=True, several=False) if hit not in in_case)
    added = run_evidence(["case", "add", CLI_CASE, third, "--by", "reviewer1", "--note", "命令行提请"],
                         console.data_dir)
    assert added.returncode == 0, added.output
    chief.goto(f"{console.url}/cases")
    row = chief.locator(f"tr[data-case='{CLI_CASE}']")
    assert "待批准" in row.inner_text() and "（未指定）" in row.inner_text() and "张三" in row.inner_text()
    row.locator("select[name=inspector]").select_option(label="王稽查")
    row.locator("button", has_text="批准移送").click()
    chief.wait_for_load_state()
    assert "已移送" in chief.locator(f"tr[data-case='{CLI_CASE}']").inner_text()
    chief.context.close()

    # Inspectors see their own cases; another inspector's case is 403.
    inspector = browser_login(browser, console, "inspector1")
    assert CASE_NO in inspector.content() and CLI_CASE in inspector.content()
    inspector.context.close()
    other = browser_login(browser, console, "inspector2")
    assert CASE_NO not in other.content()
    response = other.goto(f"{console.url}/cases/{CASE_NO}")
    assert response.status == 403
    assert "该案件由其他稽查人员承办" in other.content()
    other.context.close()


def _findings(console: Console) -> list[str]:
    """One hit id per current listing with findings beyond ads alone (#20: counterfeit, reviews, licence …)."""
    rows = _sql(console, """SELECT min(h.id) FROM hits h JOIN ads a ON a.current_version = h.version_id
                            GROUP BY h.version_id HAVING min(h.rule_id LIKE 'market-%') = 1 ORDER BY min(h.id)""")
    return [row[0] for row in rows]


def test_market_findings_are_confirmed_dismissed_and_transferred_like_ads(sqlite_console: Console,
                                                                           browser: object) -> None:
    """#20: a finding beyond ads is a 线索 like an ad hit: a reviewer dismisses one with a reason, confirms another and
    asks for its transfer (its evidence captured then); the chief approves it."""
    console = sqlite_console
    dismissed, transferred = _findings(console)[:2]
    reviewer = browser_login(browser, console, "reviewer1")
    reviewer.goto(f"{console.url}/hits/{dismissed}")
    assert "market-" in reviewer.locator("#hit-list").inner_text()
    reviewer.select_option("#reason", "not_ad")
    reviewer.click("#dismiss")
    reviewer.wait_for_load_state()
    assert "已排除" in reviewer.locator("#review-status").inner_text()
    reviewer.goto(f"{console.url}/hits/{transferred}")
    reviewer.click("#confirm")
    reviewer.wait_for_load_state()
    assert "已确认" in reviewer.locator("#review-status").inner_text()
    _request(reviewer, console, transferred)
    reviewer.context.close()

    chief = browser_login(browser, console, "chief1")
    chief.goto(f"{console.url}/cases")
    chief.locator(f"tr[data-case='{CASE_NO}'] button", has_text="批准移送").click()
    chief.wait_for_load_state()
    assert "已移送" in chief.locator(f"tr[data-case='{CASE_NO}']").inner_text()
    chief.context.close()
    statuses = dict(_sql(console, "SELECT id, review_status FROM hits WHERE id IN (?, ?)", dismissed, transferred))
    assert statuses == {dismissed: "dismissed", transferred: "transferred"}
    assert _sql(console, "SELECT status FROM evidence WHERE hit_id = ?", transferred)[0][0] in ("ok", "partial")

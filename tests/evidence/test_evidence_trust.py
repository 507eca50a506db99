"""#15 item 5, evidence that holds: a bundle verifies only if every item was captured, its PDF states what its data
files hold, and its signer is one of the bureau's keys; each failure is named in Chinese.  Also #15 item 3: the
cases an older ``adwatch evidence case add`` kept in the store join the one case register."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.evidence.conftest import new_signing_key, query, requires_chromium, reseal, run_evidence

pytestmark = requires_chromium


@pytest.fixture(scope="module")
def bureau_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return new_signing_key(tmp_path_factory.mktemp("bureau"), "bureau")


@pytest.fixture(scope="module")
def signed(evidence_data: Path, collect_hits: list[str], bureau_key: tuple[Path, Path],
           tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("signed") / "signed.zip"
    env = {"ADWATCH_EVIDENCE_SIGNING_KEY": str(bureau_key[0])}
    run = run_evidence(["export", *collect_hits[:2], "-o", str(path), "--operator", "王稽查"], evidence_data, env)
    assert run.returncode == 0, run.output
    return path


def _forge_operator(data: bytes) -> bytes:
    custody = json.loads(data)
    custody["exported_by"] = "冒名者"
    return json.dumps(custody, ensure_ascii=False).encode()


def test_a_signed_bundle_verifies_against_the_bureaus_key_alone(
    signed: Path, evidence_data: Path, bureau_key: tuple[Path, Path]
) -> None:
    run = run_evidence(["verify", str(signed)], evidence_data, {"ADWATCH_EVIDENCE_SIGNING_KEY": str(bureau_key[0])})
    assert run.returncode == 0, run.output
    assert "签名有效，签名者为本局公钥" in run.stdout and "校验通过" in run.stdout


def test_custody_edited_and_resigned_with_a_foreign_key_fails(
    signed: Path, evidence_data: Path, bureau_key: tuple[Path, Path], tmp_path: Path
) -> None:
    forged = Path(shutil.copy(signed, tmp_path / "forged.zip"))
    foreign, _ = new_signing_key(tmp_path, "forger")
    reseal(forged, "custody.json", _forge_operator, foreign)

    for env in ({"ADWATCH_EVIDENCE_SIGNING_KEY": str(bureau_key[0])}, {}):  # pinned key, or none configured
        run = run_evidence(["verify", str(forged)], evidence_data, env)
        assert run.returncode == 1, run.output
        assert "签名者未经确认 UNKNOWN SIGNER: signature/public_key.pem" in run.stdout
        assert "PDF 与记录不符 PDF MISMATCH: report.pdf — PDF 未载明导出人 exported by“冒名者”" in run.stdout
        assert "已被改动 ALTERED" not in run.stdout  # every hash agrees: only the signer and the PDF betray it
        assert "校验失败" in run.stderr


def test_a_pdf_that_says_otherwise_than_custody_fails_even_unsigned(signed: Path, evidence_data: Path,
                                                                    tmp_path: Path) -> None:
    forged = Path(shutil.copy(signed, tmp_path / "forged.zip"))
    reseal(forged, "custody.json", _forge_operator)
    run = run_evidence(["verify", str(forged), "--allow-unsigned"], evidence_data)
    assert run.returncode == 1
    problems = [line for line in run.stdout.splitlines() if "MISMATCH" in line]
    assert problems == ["PDF 与记录不符 PDF MISMATCH: report.pdf — PDF 未载明导出人 exported by“冒名者”，"
                        "与 custody.json / manifest.json 不符"]


def test_a_bundle_with_an_uncaptured_ad_fails(evidence_data: Path, tmp_path: Path) -> None:
    """The demo's mall has no evidence captured: its bundle exports (with a note) but never verifies."""
    [(hit_id,)] = query(evidence_data / "adwatch.db", "SELECT h.id FROM hits h LEFT JOIN evidence e "
                        "ON e.hit_id = h.id WHERE h.site = 'mall' AND e.hit_id IS NULL ORDER BY h.id LIMIT 1")
    bundle = tmp_path / "uncaptured.zip"
    assert run_evidence(["export", hit_id, "-o", str(bundle)], evidence_data).returncode == 0
    run = run_evidence(["verify", str(bundle), "--allow-unsigned"], evidence_data)
    assert run.returncode == 1
    assert f"未取证 UNCAPTURED: index.csv — 命中 {hit_id} 无证据包，未取证" in run.stdout


def test_the_pdf_shows_the_capture_time_in_beijing_time_first(signed: Path) -> None:
    with zipfile.ZipFile(signed) as archive:
        pdf = archive.read("report.pdf")
        record = json.loads(zipfile.ZipFile(archive.open(next(
            name for name in archive.namelist() if name.endswith(".wacz")))).read("logs/capture.json"))
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    beijing = record["capture_started"]["beijing"]
    assert beijing.endswith("+08:00") and beijing in text
    assert text.index("取证时间（北京时间）") < text.index("首次抓取（UTC）")


def test_cases_of_the_old_store_table_join_the_register(evidence_data: Path, collect_hits: list[str],
                                                        tmp_path: Path) -> None:
    data = Path(shutil.copytree(evidence_data, tmp_path / "data"))
    with sqlite3.connect(data / "adwatch.db") as conn:  # as an older `adwatch evidence case add` left it
        conn.execute("CREATE TABLE cases (case_id TEXT NOT NULL, hit_id TEXT NOT NULL, added_at TEXT NOT NULL, "
                     "PRIMARY KEY (case_id, hit_id))")
        conn.executemany("INSERT INTO cases VALUES ('OLD-2026-7', ?, '2026-11-30T08:00:00+00:00')",
                         [(hit,) for hit in collect_hits[:2]])

    listed = run_evidence(["case", "list"], data)
    assert listed.returncode == 0, listed.output
    assert "OLD-2026-7\t待批准\t承办 —\t2 条命中 hits" in listed.stdout.splitlines()
    assert query(data / "adwatch.db", "SELECT name FROM sqlite_master WHERE name = 'cases'") == []
    assert query(data / "console.db", "SELECT hit_id FROM case_hits WHERE case_no = 'OLD-2026-7' ORDER BY rowid") \
        == [(hit,) for hit in collect_hits[:2]]
    bundle = tmp_path / "old.zip"
    run = run_evidence(["export", "--case", "OLD-2026-7", "-o", str(bundle)], data)
    assert run.returncode == 0, run.output
    with zipfile.ZipFile(bundle) as archive:
        custody = json.loads(archive.read("custody.json"))
    assert (custody["case_id"], custody["requested_by"], custody["hit_ids"]) == \
        ("OLD-2026-7", "命令行（旧案件）", collect_hits[:2])


def test_a_cli_case_records_who_asked_and_its_note_in_custody_and_pdf(evidence_data: Path, collect_hits: list[str],
                                                                      tmp_path: Path) -> None:
    data = Path(shutil.copytree(evidence_data, tmp_path / "data"))
    added = run_evidence(["case", "add", "AJ-2026-015", collect_hits[0], "--by", "张三", "--note", "证据齐全，请立案"],
                         data)
    assert added.returncode == 0, added.output
    again = run_evidence(["case", "add", "AJ-2026-015", collect_hits[1], "--inspector", "nobody"], data)
    assert again.returncode == 1 and "承办人须为在岗的稽查人员账号" in again.stderr
    bundle = tmp_path / "case.zip"
    assert run_evidence(["export", "--case", "AJ-2026-015", "-o", str(bundle)], data).returncode == 0
    with zipfile.ZipFile(bundle) as archive:
        custody = json.loads(archive.read("custody.json"))
        pdf = archive.read("report.pdf")
    assert (custody["requested_by"], custody["transfer_note"]) == ("张三", "证据齐全，请立案")
    assert custody["approved_by"] == ""
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert "证据齐全，请立案" in text and "未批准" in text

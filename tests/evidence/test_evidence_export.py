"""Export → verify, and every kind of tampering named by ``verify``; the PDF report shows Chinese and the hit."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.evidence.conftest import flip_byte, query, requires_chromium, rewrite_zip, run_evidence

pytestmark = requires_chromium


@pytest.fixture
def copy(bundle: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(bundle, tmp_path / "bundle.zip"))


def _package(bundle: Path) -> str:
    import zipfile

    with zipfile.ZipFile(bundle) as archive:
        return next(name for name in archive.namelist() if name.endswith(".wacz"))


def test_exported_bundle_verifies(bundle: Path, evidence_data: Path) -> None:
    run = run_evidence(["verify", str(bundle), "--allow-unsigned"], evidence_data)
    assert run.returncode == 0, run.output
    assert "校验通过 OK" in run.stdout and "未签名（按 --allow-unsigned 接受）" in run.stdout


def test_an_unsigned_bundle_fails_unless_accepted_explicitly(bundle: Path, evidence_data: Path) -> None:
    """#19: a signature-stripped bundle used to verify as if nothing were missing."""
    run = run_evidence(["verify", str(bundle)], evidence_data)
    assert run.returncode == 1
    assert "未签名 UNSIGNED: signature/manifest.sig" in run.stdout


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("index.csv", "重复的成员名 DUPLICATE NAME: index.csv"),
        ("../../etc/cron.d/x", "不安全的成员名 UNSAFE NAME: ../../etc"),
    ],
    ids=["duplicate-member", "traversal-member"],
)
def test_duplicate_and_traversal_member_names_are_refused(
    copy: Path, evidence_data: Path, name: str, kind: str
) -> None:
    """#19: a second index.csv, or a name unpacking outside the folder, used to pass in a re-hashed manifest."""
    import warnings
    import zipfile

    with warnings.catch_warnings(), zipfile.ZipFile(copy, "a") as archive:
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate name it is asked to write
        archive.writestr(name, b"planted")
    run = run_evidence(["verify", str(copy), "--allow-unsigned"], evidence_data)
    assert run.returncode == 1
    assert kind in run.stdout


@pytest.mark.parametrize("member", ["index.csv", "custody.json", "report.pdf", "manifest.json", "manifest.sha256"])
def test_flipping_one_byte_in_a_file_names_it(copy: Path, evidence_data: Path, member: str) -> None:
    rewrite_zip(copy, member, flip_byte)
    run = run_evidence(["verify", str(copy)], evidence_data)
    assert run.returncode == 1
    assert member in run.stdout


@pytest.mark.parametrize(
    "inner", ["logs/screenshot.png", "logs/capture.json", "archive/evidence.warc.gz", "datapackage.json"]
)
def test_flipping_one_byte_inside_a_package_names_package_and_file(
    copy: Path, evidence_data: Path, tmp_path: Path, inner: str
) -> None:
    package = _package(copy)

    def tamper(data: bytes) -> bytes:
        wacz = tmp_path / "package.wacz"
        wacz.write_bytes(data)
        rewrite_zip(wacz, inner, flip_byte)
        return wacz.read_bytes()

    rewrite_zip(copy, package, tamper)
    run = run_evidence(["verify", str(copy)], evidence_data)
    assert run.returncode == 1
    assert f"{package}!{inner}" in run.stdout


def test_flipping_a_raw_byte_of_the_zip_names_the_file(copy: Path, evidence_data: Path) -> None:
    """A byte flipped in place in the zip (no rewrite): the stored member's CRC fails and the file is named."""
    import zipfile

    with zipfile.ZipFile(copy) as archive:
        info = archive.getinfo("report.pdf")
    data = bytearray(copy.read_bytes())
    data[info.header_offset + 30 + len(info.filename) + info.file_size // 2] ^= 0x01
    copy.write_bytes(bytes(data))
    run = run_evidence(["verify", str(copy)], evidence_data)
    assert run.returncode == 1
    assert "report.pdf" in run.stdout


def test_a_removed_file_is_named_missing(copy: Path, evidence_data: Path) -> None:
    rewrite_zip(copy, "index.csv", lambda data: None)
    run = run_evidence(["verify", str(copy)], evidence_data)
    assert run.returncode == 1
    assert "缺失 MISSING: index.csv" in run.stdout


def test_an_added_file_is_named(copy: Path, evidence_data: Path) -> None:
    import zipfile

    with zipfile.ZipFile(copy, "a") as archive:
        archive.writestr("extra.txt", b"planted")
    run = run_evidence(["verify", str(copy)], evidence_data)
    assert run.returncode == 1
    assert "extra.txt" in run.stdout


def _pdf(bundle: Path, tmp_path: Path) -> Path:
    import zipfile

    pdf = tmp_path / "report.pdf"
    with zipfile.ZipFile(bundle) as archive:
        pdf.write_bytes(archive.read("report.pdf"))
    return pdf


def _dark_fraction(ppm: bytes) -> float:
    """Share of pixels that are not near-white in a binary PPM (P6) image."""
    magic, _size, _depth, pixels = ppm.split(b"\n", 3)
    assert magic == b"P6"
    dark = sum(1 for i in range(0, len(pixels) - 2, 3) if min(pixels[i : i + 3]) < 200)
    return dark / (len(pixels) / 3)


def test_report_first_page_renders_chinese_and_holds_the_hit(bundle: Path, evidence_data: Path, tmp_path: Path) -> None:
    pdf = _pdf(bundle, tmp_path)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True)
    png = next(tmp_path.glob("page*.png"))
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 5000
    ppm = subprocess.run(["pdftoppm", "-r", "30", "-f", "1", "-l", "1", str(pdf)], check=True, capture_output=True)
    assert _dark_fraction(ppm.stdout) > 0.01, "the first page is blank"
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    assert "取证报告" in text and "广告法" in text
    hits = query(evidence_data / "adwatch.db", "SELECT matched FROM hits WHERE site = 'collect' ORDER BY id LIMIT 3")
    assert all(matched in text for (matched,) in hits), hits
    assert "稽查员 inspector" in text


def test_crawled_markup_is_shown_as_text_never_run(evidence_data: Path, tmp_path: Path) -> None:
    """The mall's XSS item (no evidence captured for mall here) exports; its payload appears as literal text."""
    rows = query(
        evidence_data / "adwatch.db",
        "SELECT h.id FROM hits h JOIN ad_versions v ON v.id = h.version_id WHERE v.title LIKE '%<script>%'",
    )
    assert rows, "the sandbox mall has an XSS payload item that is flagged"
    bundle = tmp_path / "xss.zip"
    run = run_evidence(["export", rows[0][0], "-o", str(bundle)], evidence_data)
    assert run.returncode == 0, run.output
    assert "hits without a package" in run.stderr
    text = subprocess.run(["pdftotext", str(_pdf(bundle, tmp_path)), "-"], capture_output=True, text=True).stdout
    assert "<script>alert(1)</script>" in text
    assert "未取证 not captured" in text


def test_case_export(evidence_data: Path, collect_hits: list[str], tmp_path: Path) -> None:
    added = run_evidence(["case", "add", "AJ-2026-001", *collect_hits[3:5]], evidence_data)
    assert added.returncode == 0, added.output
    bundle = tmp_path / "case.zip"
    run = run_evidence(["export", "--case", "AJ-2026-001", "-o", str(bundle)], evidence_data)
    assert run.returncode == 0, run.output
    assert run_evidence(["verify", str(bundle), "--allow-unsigned"], evidence_data).returncode == 0
    import zipfile

    with zipfile.ZipFile(bundle) as archive:
        index = archive.read("index.csv").decode("utf-8-sig")
        custody = archive.read("custody.json").decode()
    assert all(hit in index for hit in collect_hits[3:5])
    assert "AJ-2026-001" in custody


def test_unknown_hit_is_refused(evidence_data: Path, tmp_path: Path) -> None:
    run = run_evidence(["export", "nosuchhit", "-o", str(tmp_path / "x.zip")], evidence_data)
    assert run.returncode == 1
    assert "nosuchhit" in run.output

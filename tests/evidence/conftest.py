"""Evidence tests: the session crawl's collect-site evidence, exported and checked by the real CLI."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, CrawlRun, skip_unless

requires_chromium = skip_unless(
    shutil.which("chromium") is not None, reason="Debian's chromium is not installed (run `make setup`)"
)


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_evidence(args: list[str], data_dir: Path, extra_env: dict[str, str] | None = None) -> Run:
    """``adwatch evidence …`` in a subprocess, on the data under ``data_dir``."""
    env = {**os.environ, "ADWATCH_DATA_DIR": str(data_dir), **(extra_env or {})}
    env.pop("ADWATCH_DB_PATH", None)
    proc = subprocess.run(
        [sys.executable, "-m", "evidence", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=180
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def query(db_path: Path, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql, params).fetchall()


def rewrite_zip(path: Path, member: str, change) -> None:
    """Rewrite the zip at ``path`` with ``member``'s bytes passed through ``change`` (None: leave it out)."""
    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info.filename)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w") as archive:
        for info, data in members:
            if info.filename != member:
                archive.writestr(info, data)
            elif (changed := change(data)) is not None:
                archive.writestr(info, changed)


def flip_byte(data: bytes, at: float = 0.5) -> bytes:
    position = int(len(data) * at)
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


@pytest.fixture(scope="session")
def evidence_data(crawled: CrawlRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the session crawl's data folder, so exports and cases do not touch the shared one."""
    copy = tmp_path_factory.mktemp("evidence") / "data"
    shutil.copytree(crawled.data_dir, copy, ignore=shutil.ignore_patterns("logs"))
    return copy


@pytest.fixture(scope="session")
def collect_hits(evidence_data: Path) -> list[str]:
    rows = query(evidence_data / "adwatch.db", "SELECT id FROM hits WHERE site = 'collect' ORDER BY id")
    assert rows, "the sandbox's collect site has flagged ads"
    return [row[0] for row in rows]


@pytest.fixture(scope="session")
def bundle(evidence_data: Path, collect_hits: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One exported bundle of three collect hits; tests copy it before changing it."""
    path = tmp_path_factory.mktemp("bundle") / "bundle.zip"
    run = run_evidence(["export", *collect_hits[:3], "-o", str(path), "--operator", "稽查员 inspector"], evidence_data)
    assert run.returncode == 0, run.output
    return path


def reseal(path: Path, member: str, change, signing_key: Path | None = None) -> None:
    """Change ``member`` as a forger would: its hash in manifest.json, manifest.sha256 and — with ``signing_key``
    (the forger's own) — the signature and public key, all made anew, so every hash agrees."""
    from evidence.manifest import sha256_bytes
    from evidence.signing import sign_digest

    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info.filename) for info in archive.infolist()}
    members[member] = change(members[member])
    manifest = json.loads(members["manifest.json"])
    for entry in manifest["files"]:
        if entry["path"] == member:
            entry.update(sha256=sha256_bytes(members[member]), bytes=len(members[member]))
    members["manifest.json"] = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
    digest = sha256_bytes(members["manifest.json"])
    members["manifest.sha256"] = f"{digest}  manifest.json\n".encode()
    if signing_key is not None:
        members["signature/manifest.sig"], members["signature/public_key.pem"] = sign_digest(
            signing_key, bytes.fromhex(digest)
        )
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def new_signing_key(folder: Path, name: str) -> tuple[Path, Path]:
    """A fresh Ed25519 key pair as PEM files: (private, public)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    private, public = folder / f"{name}.pem", folder / f"{name}.pub.pem"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return private, public

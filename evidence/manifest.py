"""File lists with SHA-256 hashes, and checking files against them: shared by packages and bundles."""

from __future__ import annotations

import hashlib
import zipfile
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

CHUNK = 1 << 20


@dataclass(frozen=True)
class Problem:
    """One file that does not check out: ``altered``, ``missing``, ``unexpected``, ``unreadable`` or ``signature``."""

    path: str
    kind: str
    detail: str = ""

    def __str__(self) -> str:
        label = KIND_LABELS.get(self.kind, self.kind)
        return f"{label}: {self.path}" + (f" — {self.detail}" if self.detail else "")


KIND_LABELS = {
    "altered": "已被改动 ALTERED",
    "missing": "缺失 MISSING",
    "unexpected": "清单外文件 UNLISTED",
    "unreadable": "无法读取 UNREADABLE",
    "signature": "签名/时间戳无效 SIGNATURE",
    "unsigned": "未签名 UNSIGNED",
    "unknown-signer": "签名者未经确认 UNKNOWN SIGNER",
    "duplicate": "重复的成员名 DUPLICATE NAME",
    "unsafe": "不安全的成员名 UNSAFE NAME",
    "uncaptured": "未取证 UNCAPTURED",
    "mismatch": "PDF 与记录不符 PDF MISMATCH",
}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_member(archive: zipfile.ZipFile, name: str) -> str:
    """SHA-256 of one member; raises zipfile.BadZipFile (bad CRC) or OSError if it cannot be read."""
    digest = hashlib.sha256()
    with archive.open(name) as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def unsafe_name(name: str) -> bool:
    """Whether a member name would land outside the folder it is unpacked into."""
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":")


def check_members(
    archive: zipfile.ZipFile, listed: Mapping[str, str], prefix: str = "", ignore: Iterable[str] = ()
) -> list[Problem]:
    """Compare every member of ``archive`` with ``listed`` (path → sha256); name each bad file.

    A name that stands twice (which copy was hashed?) or that would land outside the folder
    it is unpacked into (``../``, an absolute or a drive path) is refused whatever its hash.
    """
    counts = Counter(archive.namelist())
    present = set(counts)
    problems = [Problem(prefix + name, "duplicate") for name in sorted(present) if counts[name] > 1]
    problems += [Problem(prefix + name, "unsafe") for name in sorted(present) if unsafe_name(name)]
    for path, expected in listed.items():
        if path not in present:
            problems.append(Problem(prefix + path, "missing"))
            continue
        try:
            actual = sha256_member(archive, path)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            problems.append(Problem(prefix + path, "altered", f"unreadable: {exc}"))
            continue
        if actual != expected:
            problems.append(Problem(prefix + path, "altered", f"sha256 {actual} ≠ {expected}"))
    skip = set(ignore) | set(listed)
    problems.extend(Problem(prefix + p, "unexpected") for p in sorted(present - skip) if not p.endswith("/"))
    return problems

"""Check an exported bundle: recompute every hash, inside every package too, and check any seals.

Each file that does not check out is named — altered, missing, or not in the
manifest; a file inside a package is named ``packages/<name>.wacz!<path>``.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature

from crawler.exceptions import EvidenceError
from evidence.crosscheck import check_report, uncaptured
from evidence.manifest import Problem, check_members, sha256_bytes
from evidence.package import verify_package
from evidence.signing import key_fingerprint, verify_signature, verify_timestamp

MANIFEST = "manifest.json"
MANIFEST_DIGEST = "manifest.sha256"
SIGNATURE = "signature/manifest.sig"
PUBLIC_KEY = "signature/public_key.pem"
TIMESTAMP = "signature/timestamp.tsr"
SEALS = (SIGNATURE, PUBLIC_KEY, TIMESTAMP)


@dataclass
class Verification:
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_bundle(
    path: Path, trusted: Sequence[bytes] = (), tsa_fingerprint: str = "", allow_unsigned: bool = False
) -> Verification:
    """Verify the bundle at ``path``: its hashes, that every item was captured, that the PDF states what
    ``custody.json`` and the manifest hold, and its seals.

    A signature counts only by one of the ``trusted`` public keys (PEM: the bureau's, pinned in settings):
    anyone can re-sign an edited bundle with a key of their own.  A bundle nobody signed fails unless the
    caller accepts it (``allow_unsigned``); ``tsa_fingerprint``, if given, must be the timestamp authority's.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise EvidenceError(f"无法打开证据包 cannot open bundle {path}: {exc}") from exc
    with archive:
        result = Verification()
        listed = _manifest(archive, result)
        if listed is None:
            return result
        files, packages = listed
        result.files = len(files)
        result.problems += check_members(archive, files, ignore=(MANIFEST, MANIFEST_DIGEST, *SEALS))
        for name, expected in packages.items():
            result.problems += _check_package(archive, name, expected)
        result.problems += uncaptured(archive) + check_report(archive, packages)
        _check_seals(archive, result, trusted, tsa_fingerprint, allow_unsigned)
    return result


def _manifest(archive: zipfile.ZipFile, result: Verification) -> tuple[dict[str, str], dict[str, str]] | None:
    try:
        data = archive.read(MANIFEST)
        manifest = json.loads(data)
        files = {f["path"]: f["sha256"] for f in manifest["files"]}
        packages = {p["path"]: p["manifest_sha256"] for p in manifest["packages"]}
    except KeyError as exc:
        result.problems.append(
            Problem(MANIFEST, "missing" if MANIFEST not in archive.namelist() else "altered", str(exc))
        )
        return None
    except (ValueError, TypeError, zipfile.BadZipFile, OSError) as exc:
        result.problems.append(Problem(MANIFEST, "altered", f"unreadable: {exc}"))
        return None
    _check_manifest_digest(archive, sha256_bytes(data), result)
    return files, packages


def _check_manifest_digest(archive: zipfile.ZipFile, actual: str, result: Verification) -> None:
    try:
        recorded = archive.read(MANIFEST_DIGEST).decode("ascii").split()[0]
    except (KeyError, UnicodeDecodeError, IndexError, zipfile.BadZipFile, OSError) as exc:
        result.problems.append(Problem(MANIFEST_DIGEST, "altered", f"unreadable: {exc}"))
        return
    if recorded != actual:
        result.problems.append(
            Problem(f"{MANIFEST} / {MANIFEST_DIGEST}", "altered", f"{MANIFEST} sha256 {actual} ≠ {recorded}")
        )


def _check_package(archive: zipfile.ZipFile, name: str, expected_manifest: str) -> list[Problem]:
    """The files inside one package, so that a change is named down to the file."""
    try:
        inner = zipfile.ZipFile(io.BytesIO(archive.read(name)))
    except KeyError:
        return []  # already named missing
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return [Problem(name, "unreadable", f"not a readable WACZ: {exc}")]
    with inner:
        return verify_package(inner, f"{name}!", expected_manifest)


def _check_seals(
    archive: zipfile.ZipFile, result: Verification, trusted: Sequence[bytes], tsa: str, allow_unsigned: bool
) -> None:
    names = set(archive.namelist())
    digest = bytes.fromhex(sha256_bytes(archive.read(MANIFEST)))
    if SIGNATURE in names or PUBLIC_KEY in names:
        _check_signature(archive, digest, result, trusted)
    elif allow_unsigned:
        result.notes.append("未签名（按 --allow-unsigned 接受）unsigned, accepted by --allow-unsigned")
    else:
        result.problems.append(Problem(SIGNATURE, "unsigned", "证据包未签名 the bundle is not signed "
                                                              "(--allow-unsigned accepts it)"))
    if TIMESTAMP in names:
        _check_timestamp(archive.read(TIMESTAMP), digest, result, tsa)
    elif tsa:
        result.problems.append(Problem(TIMESTAMP, "missing", "给出了时间戳机构指纹，但没有时间戳 no timestamp"))


def _check_signature(archive: zipfile.ZipFile, digest: bytes, result: Verification, trusted: Sequence[bytes]) -> None:
    """The signature against the manifest, by one of the bureau's keys: any other signer proves nothing."""
    try:
        signature, key = archive.read(SIGNATURE), archive.read(PUBLIC_KEY)
    except KeyError as exc:
        result.problems.append(Problem(SIGNATURE if SIGNATURE in str(exc) else PUBLIC_KEY, "missing"))
        return
    try:
        signer = key_fingerprint(key)
        known = signer in {key_fingerprint(k) for k in trusted}
        verify_signature(key, signature, digest)
    except (ValueError, EvidenceError) as exc:
        result.problems.append(Problem(PUBLIC_KEY, "signature", f"公钥无法读取 unreadable key: {exc}"))
    except InvalidSignature:
        culprit = SIGNATURE if known else f"{SIGNATURE} / {PUBLIC_KEY}"
        result.problems.append(Problem(culprit, "signature", "签名与 manifest.json 不符 signature does not match"))
    else:
        if known:
            result.notes.append(f"签名有效，签名者为本局公钥 signature valid by the bureau's key (sha256 {signer})")
        elif not trusted:
            result.problems.append(Problem(PUBLIC_KEY, "unknown-signer", "未配置本局公钥，无法确认签名者（设置 "
                                           "ADWATCH_EVIDENCE_TRUSTED_KEYS 或 --public-key） no trusted key configured"))
        else:
            result.problems.append(Problem(PUBLIC_KEY, "unknown-signer", "签名者不是本局配置的公钥，证据包可能被改动后"
                                           f"重新签名 signed by a key that is not the bureau's (sha256 {signer})"))


def _check_timestamp(token: bytes, digest: bytes, result: Verification, tsa: str) -> None:
    try:
        stamp = verify_timestamp(token, digest)
    except EvidenceError as exc:
        result.problems.append(Problem(TIMESTAMP, "signature", str(exc)))
        return
    if tsa and stamp.tsa_fingerprint != tsa.lower().replace(":", ""):
        result.problems.append(Problem(TIMESTAMP, "signature", f"issued by another TSA ({stamp.tsa_subject})"))
        return
    result.notes.append(
        f"可信时间戳有效 timestamp valid: {stamp.gen_time.isoformat()} by {stamp.tsa_subject} "
        f"(sha256 {stamp.tsa_fingerprint})"
    )

"""Check an exported bundle: recompute every hash, inside every package too, and check any seals.

Each file that does not check out is named — altered, missing, or not in the
manifest; a file inside a package is named ``packages/<name>.wacz!<path>``.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature

from crawler.exceptions import EvidenceError
from evidence.manifest import Problem, check_members, sha256_bytes
from evidence.package import verify_package
from evidence.signing import verify_signature, verify_timestamp

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
    path: Path,
    public_key: bytes | None = None,
    tsa_fingerprint: str = "",
    allow_unsigned: bool = False,
    allow_unknown_signer: bool = False,
) -> Verification:
    """Verify the bundle at ``path``; ``public_key`` / ``tsa_fingerprint``, if given, must be the sealers'.

    A bundle nobody signed, or signed by a key nobody vouched for (no ``public_key`` given:
    anyone can re-sign an edited bundle with a key of their own), fails unless the caller
    explicitly accepts it (``allow_unsigned``, ``allow_unknown_signer``); the result says so.
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
        _check_seals(archive, result, public_key, tsa_fingerprint, allow_unsigned, allow_unknown_signer)
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
    archive: zipfile.ZipFile,
    result: Verification,
    public_key: bytes | None,
    tsa: str,
    allow_unsigned: bool,
    allow_unknown_signer: bool,
) -> None:
    names = set(archive.namelist())
    digest = bytes.fromhex(sha256_bytes(archive.read(MANIFEST)))
    if SIGNATURE in names or PUBLIC_KEY in names:
        _check_signature(archive, digest, result, public_key, allow_unknown_signer)
    elif public_key is not None:
        result.problems.append(Problem(SIGNATURE, "missing", "a public key was given but the bundle is not signed"))
    elif allow_unsigned:
        result.notes.append("未签名（按 --allow-unsigned 接受）unsigned, accepted by --allow-unsigned")
    else:
        result.problems.append(Problem(SIGNATURE, "unsigned", "the bundle is not signed (--allow-unsigned accepts it)"))
    if TIMESTAMP in names:
        _check_timestamp(archive.read(TIMESTAMP), digest, result, tsa)
    elif tsa:
        result.problems.append(Problem(TIMESTAMP, "missing", "a TSA fingerprint was given but there is no timestamp"))


def _check_signature(
    archive: zipfile.ZipFile, digest: bytes, result: Verification, trusted: bytes | None, allow_unknown_signer: bool
) -> None:
    """The signature against the manifest; a key nobody vouched for (no ``trusted``) proves nothing by itself."""
    try:
        signature, key = archive.read(SIGNATURE), archive.read(PUBLIC_KEY)
    except KeyError as exc:
        result.problems.append(Problem(SIGNATURE if SIGNATURE in str(exc) else PUBLIC_KEY, "missing"))
        return
    if trusted is not None and trusted.strip() != key.strip():
        result.problems.append(Problem(PUBLIC_KEY, "signature", "not the public key given to check it"))
        return
    try:
        verify_signature(key, signature, digest)
    except ValueError as exc:
        result.problems.append(Problem(PUBLIC_KEY, "signature", f"unreadable key: {exc}"))
    except InvalidSignature:
        culprit = SIGNATURE if trusted is not None else f"{SIGNATURE} / {PUBLIC_KEY}"
        result.problems.append(Problem(culprit, "signature", "signature does not match manifest.json"))
    else:
        if trusted is not None:
            result.notes.append("签名有效 signature valid (manifest.json digest)")
        elif allow_unknown_signer:
            result.notes.append("签名有效，签名者未经确认（按 --allow-unknown-signer 接受）signer not vouched for")
        else:
            detail = "anyone can re-sign a bundle: give the signer's key with --public-key (or --allow-unknown-signer)"
            result.problems.append(Problem(PUBLIC_KEY, "unknown-signer", detail))


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

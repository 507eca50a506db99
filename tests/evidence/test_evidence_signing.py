"""Signing and RFC 3161 timestamps on an export, against a local timestamp authority the test starts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from crawler.config import project_settings
from evidence.config import EvidenceConfig
from evidence.signing import trusted_keys
from evidence.verify import verify_bundle
from tests.evidence.conftest import flip_byte, requires_chromium, rewrite_zip, run_evidence
from tests.evidence.tsa import LocalTSA

pytestmark = requires_chromium


@pytest.fixture(scope="module")
def tsa() -> LocalTSA:
    with LocalTSA() as authority:
        yield authority


@pytest.fixture(scope="module")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("keys")
    key = ed25519.Ed25519PrivateKey.generate()
    private, public = folder / "signing.pem", folder / "public.pem"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return private, public


@pytest.fixture(scope="module")
def sealed(
    evidence_data: Path,
    collect_hits: list[str],
    tsa: LocalTSA,
    signing_key: tuple[Path, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    path = tmp_path_factory.mktemp("sealed") / "sealed.zip"
    env = {"ADWATCH_EVIDENCE_SIGNING_KEY": str(signing_key[0]), "ADWATCH_EVIDENCE_TSA_URL": tsa.url}
    run = run_evidence(["export", collect_hits[0], "-o", str(path)], evidence_data, env)
    assert run.returncode == 0, run.output
    assert "timestamped: True" in run.stdout and tsa.requests == 1
    return path


def test_signed_and_timestamped_bundle_verifies(
    sealed: Path, evidence_data: Path, tsa: LocalTSA, signing_key: tuple[Path, Path]
) -> None:
    run = run_evidence(
        ["verify", str(sealed), "--public-key", str(signing_key[1]), "--tsa-fingerprint", tsa.fingerprint],
        evidence_data,
    )
    assert run.returncode == 0, run.output
    assert "签名有效，签名者为本局公钥" in run.stdout
    assert "可信时间戳有效 timestamp valid" in run.stdout and "AdWatch Test TSA" in run.stdout


@pytest.mark.parametrize("member", ["signature/manifest.sig", "signature/timestamp.tsr"])
def test_tampered_seal_fails_and_is_named(
    sealed: Path, evidence_data: Path, tmp_path: Path, member: str, signing_key: tuple[Path, Path]
) -> None:
    copy = Path(shutil.copy(sealed, tmp_path / "sealed.zip"))
    rewrite_zip(copy, member, lambda data: flip_byte(data, 0.9))
    run = run_evidence(["verify", str(copy), "--public-key", str(signing_key[1])], evidence_data)
    assert run.returncode == 1
    assert member in run.stdout


def test_timestamp_from_another_authority_fails(sealed: Path, evidence_data: Path) -> None:
    run = run_evidence(["verify", str(sealed), "--tsa-fingerprint", "00" * 32], evidence_data)
    assert run.returncode == 1
    assert "signature/timestamp.tsr" in run.stdout


def test_a_signature_nobody_vouched_for_fails(sealed: Path, evidence_data: Path) -> None:
    """#19: anyone can re-sign an edited bundle with a key of their own; with no key of the bureau's to check the
    signer against, a signature proves nothing."""
    run = run_evidence(["verify", str(sealed)], evidence_data)
    assert run.returncode == 1
    assert "签名者未经确认 UNKNOWN SIGNER: signature/public_key.pem — 未配置本局公钥" in run.stdout


def test_the_bureaus_own_signing_key_is_trusted_without_public_key(
    sealed: Path, evidence_data: Path, signing_key: tuple[Path, Path]
) -> None:
    run = run_evidence(["verify", str(sealed)], evidence_data, {"ADWATCH_EVIDENCE_SIGNING_KEY": str(signing_key[0])})
    assert run.returncode == 0, run.output
    assert "签名有效，签名者为本局公钥" in run.stdout


def test_pinned_keys_are_the_only_signers_trusted(
    sealed: Path, evidence_data: Path, signing_key: tuple[Path, Path], tmp_path: Path
) -> None:
    """ADWATCH_EVIDENCE_TRUSTED_KEYS pins the bureau's public keys: the signer's passes, any other fails."""
    other = tmp_path / "other.pem"
    other.write_bytes(
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    for pinned, passes in (([signing_key[1]], True), ([other], False)):
        config = EvidenceConfig.from_settings(
            project_settings({"ADWATCH_DATA_DIR": str(evidence_data), "ADWATCH_EVIDENCE_TRUSTED_KEYS": pinned})
        )
        result = verify_bundle(sealed, trusted_keys(config.trusted_keys, config.signing_key))
        assert result.ok is passes, result.problems
    assert [problem.kind for problem in result.problems] == ["unknown-signer"]
    assert "签名者不是本局配置的公钥" in str(result.problems[0])


def test_signature_by_another_key_fails(sealed: Path, evidence_data: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.pem"
    other.write_bytes(
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    run = run_evidence(["verify", str(sealed), "--public-key", str(other)], evidence_data)
    assert run.returncode == 1
    assert "signature/public_key.pem" in run.stdout


def test_unreachable_timestamp_authority_is_one_readable_error(
    evidence_data: Path, collect_hits: list[str], tmp_path: Path
) -> None:
    env = {"ADWATCH_EVIDENCE_TSA_URL": "http://127.0.0.1:9/tsa"}
    run = run_evidence(["export", collect_hits[0], "-o", str(tmp_path / "x.zip")], evidence_data, env)
    assert run.returncode == 1
    assert "timestamp authority" in run.stderr and "Traceback" not in run.stderr

"""Optional seals on an export's manifest digest: a signature by a configured key, an RFC 3161 timestamp.

* Signature: the private key at ``ADWATCH_EVIDENCE_SIGNING_KEY`` (PEM; Ed25519,
  ECDSA or RSA) signs the SHA-256 digest of ``manifest.json``.  RSA and ECDSA
  sign it as a SHA-256 prehash, so ``openssl dgst -sha256 -verify public_key.pem
  -signature manifest.sig manifest.json`` checks it too; Ed25519 signs the 32
  digest bytes themselves.
* Timestamp (可信时间戳): the authority at ``ADWATCH_EVIDENCE_TSA_URL`` receives
  a TimeStampReq for the same digest and returns a signed token, kept as
  ``timestamp.tsr`` (``openssl ts -reply -in timestamp.tsr -text`` shows it).
"""

from __future__ import annotations

import os
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from crawler.exceptions import EvidenceError

TSA_TIMEOUT = 20.0
_HASHES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}


# --- signature ---


def load_private_key(path: Path) -> ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise EvidenceError(f"签名私钥无法读取 cannot read signing key {path}: {exc}") from exc
    if not isinstance(key, (ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey, rsa.RSAPrivateKey)):
        raise EvidenceError(f"签名私钥类型不支持 unsupported key type in {path}: use Ed25519, ECDSA or RSA")
    return key


def sign_digest(key_path: Path, digest: bytes) -> tuple[bytes, bytes]:
    """(signature, public key PEM) for a SHA-256 ``digest``."""
    key = load_private_key(key_path)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        signature = key.sign(digest)
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    else:
        signature = key.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return signature, public


def key_fingerprint(public_pem: bytes) -> str:
    """SHA-256 of the public key's DER (SubjectPublicKeyInfo): the same key gives the same print in any PEM layout."""
    try:
        key = serialization.load_pem_public_key(public_pem)
    except (ValueError, TypeError) as exc:
        raise EvidenceError(f"公钥无法读取 unreadable public key: {exc}") from exc
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return digest.finalize().hex()


def trusted_keys(key_files: tuple[Path, ...], signing_key: Path | None) -> list[bytes]:
    """The bureau's public keys (PEM): the pinned key files, and the public half of this installation's signing
    key when it has one."""
    keys = []
    for path in key_files:
        try:
            keys.append(path.read_bytes())
        except OSError as exc:
            raise EvidenceError(f"本局公钥无法读取 cannot read trusted key {path}: {exc}") from exc
    if signing_key is not None:
        public = load_private_key(signing_key).public_key()
        keys.append(public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return keys


def verify_signature(public_pem: bytes, signature: bytes, digest: bytes) -> None:
    """Raise InvalidSignature (or ValueError for an unreadable key) unless ``signature`` signs ``digest``."""
    key = serialization.load_pem_public_key(public_pem)
    if isinstance(key, ed25519.Ed25519PublicKey):
        key.verify(signature, digest)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(signature, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    elif isinstance(key, rsa.RSAPublicKey):
        key.verify(signature, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
    else:
        raise ValueError(f"unsupported public key type {type(key).__name__}")


# --- RFC 3161 timestamp ---


def request_timestamp(url: str, digest: bytes) -> bytes:
    """Ask the TSA at ``url`` to timestamp a SHA-256 ``digest``; the DER TimeStampResp, checked."""
    nonce = int.from_bytes(os.urandom(8), "big")
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": digest},
            "nonce": nonce,
            "cert_req": True,
        }
    )
    http = urllib.request.Request(
        url, data=request.dump(), headers={"Content-Type": "application/timestamp-query"}, method="POST"
    )
    try:
        with urllib.request.urlopen(http, timeout=TSA_TIMEOUT) as reply:  # noqa: S310 — configured http(s) URL
            body = reply.read()
    except OSError as exc:
        raise EvidenceError(f"时间戳服务不可用 timestamp authority {url} unreachable: {exc}") from exc
    stamp = verify_timestamp(body, digest)
    if stamp.nonce != nonce:
        raise EvidenceError(f"时间戳回应的随机数不符 timestamp authority {url} answered another request")
    return body


@dataclass(frozen=True)
class Timestamp:
    """A verified timestamp token: when, by whom (TSA certificate subject and SHA-256 fingerprint)."""

    gen_time: datetime
    tsa_subject: str
    tsa_fingerprint: str
    nonce: int | None


def verify_timestamp(response_der: bytes, digest: bytes) -> Timestamp:
    """Check a TimeStampResp covers ``digest`` and is validly signed by the certificate it carries.

    Raises EvidenceError naming what is wrong.  Whether that TSA is one to
    trust is the reader's call: compare ``tsa_fingerprint`` with the TSA's.
    """
    try:
        response = tsp.TimeStampResp.load(response_der)
        status = response["status"]["status"].native
        if status not in ("granted", "granted_with_mods"):
            raise EvidenceError(f"时间戳请求被拒绝 timestamp refused: {status}")
        signed_data = response["time_stamp_token"]["content"]
        content = signed_data["encap_content_info"]["content"]
        info = content.parsed
        imprint = info["message_imprint"]
        if imprint["hashed_message"].native != digest or imprint["hash_algorithm"]["algorithm"].native != "sha256":
            raise EvidenceError("时间戳所盖摘要不符 the timestamp covers another digest")
        certificate = _verify_signer(signed_data, content.contents)
        return Timestamp(
            gen_time=info["gen_time"].native,
            tsa_subject=certificate.subject.rfc4514_string(),
            tsa_fingerprint=certificate.fingerprint(hashes.SHA256()).hex(),
            nonce=info["nonce"].native,
        )
    except EvidenceError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, InvalidSignature) as exc:
        raise EvidenceError(f"时间戳无效 invalid timestamp token: {type(exc).__name__}: {exc}") from exc


def _verify_signer(signed_data: cms.SignedData, content: bytes) -> x509.Certificate:
    signer = signed_data["signer_infos"][0]
    algorithm = _HASHES[signer["digest_algorithm"]["algorithm"].native]
    digest = hashes.Hash(algorithm())
    digest.update(content)
    attributes = {a["type"].native: a["values"][0].native for a in signer["signed_attrs"]}
    if attributes.get("message_digest") != digest.finalize():
        raise EvidenceError("时间戳内容与签名不符 timestamp content does not match its signature")
    certificate = _signer_certificate(signed_data, signer)
    signed_bytes = b"\x31" + signer["signed_attrs"].dump()[1:]  # signed as a SET, stored [0] IMPLICIT
    _verify_with(certificate.public_key(), signer["signature"].native, signed_bytes, algorithm())
    return certificate


def _signer_certificate(signed_data: cms.SignedData, signer: cms.SignerInfo) -> x509.Certificate:
    sid = signer["sid"].chosen
    for choice in signed_data["certificates"] or []:
        cert = choice.chosen
        if isinstance(sid, cms.IssuerAndSerialNumber):
            if cert.issuer == sid["issuer"] and cert.serial_number == sid["serial_number"].native:
                return x509.load_der_x509_certificate(cert.dump())
        elif cert.key_identifier == sid.native:
            return x509.load_der_x509_certificate(cert.dump())
    raise EvidenceError("时间戳未附签发证书 the timestamp token does not carry the TSA certificate")


def _verify_with(key: object, signature: bytes, data: bytes, algorithm: hashes.HashAlgorithm) -> None:
    if isinstance(key, rsa.RSAPublicKey):
        key.verify(signature, data, padding.PKCS1v15(), algorithm)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(signature, data, ec.ECDSA(algorithm))
    elif isinstance(key, ed25519.Ed25519PublicKey):
        key.verify(signature, data)
    else:
        raise EvidenceError(f"时间戳证书密钥类型不支持 unsupported TSA key type {type(key).__name__}")

"""How a page was fetched — redirect chain, server address, TLS — kept on the item for the evidence record.

Everything here is plain JSON (strings, ints, lists), so it survives the
store, the index journal and the evidence package unchanged.
"""

from __future__ import annotations

from typing import Any

from scrapy.http import Response


def fetch_record(response: Response) -> dict[str, Any]:
    """The fetch facts Scrapy knows about ``response``: URLs, status, peer address, TLS certificate."""
    redirects = [str(url) for url in response.meta.get("redirect_urls", [])]
    return {
        "requested_url": redirects[0] if redirects else response.url,
        "final_url": response.url,
        "redirect_urls": redirects,
        "redirect_statuses": [int(s) for s in response.meta.get("redirect_reasons", []) if isinstance(s, int)],
        "status": response.status,
        "server_ip": str(response.ip_address) if response.ip_address is not None else "",
        "protocol": str(response.protocol or ""),
        "tls": _tls(response),
        "request_headers": _headers(response.request.headers) if response.request is not None else {},
    }


def _headers(headers: Any) -> dict[str, str]:
    return {_text(key): _text(b", ".join(values)) for key, values in headers.items()}


def _text(raw: bytes) -> str:
    """Header bytes as text: UTF-8 where they are (Scrapy encodes str headers so), else Latin-1."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _tls(response: Response) -> dict[str, str]:
    """Subject, issuer, serial and validity of the server certificate, for HTTPS; empty otherwise."""
    certificate = getattr(response, "certificate", None)
    if certificate is None:
        return {}
    try:
        x509 = certificate.original.to_cryptography()
    except Exception:  # noqa: BLE001 — a certificate we cannot read must not lose the item
        return {"note": "certificate present but unreadable"}
    return {
        "subject": x509.subject.rfc4514_string(),
        "issuer": x509.issuer.rfc4514_string(),
        "serial_number": format(x509.serial_number, "x"),
        "not_before": x509.not_valid_before_utc.isoformat(),
        "not_after": x509.not_valid_after_utc.isoformat(),
    }

"""Real receivers for alert tests: an SMTP server (aiosmtpd) and a webhook receiver (http.server), on free ports."""

from __future__ import annotations

import asyncio
import json
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from tests.conftest import QuietHandler, local_server

#: How DingTalk and WeCom answer a message they accept.
ROBOT_OK = b'{"errcode":0,"errmsg":"ok"}'


@dataclass
class SmtpReceiver:
    """Keeps every message the SMTP server accepts, with the logins it accepted."""

    credentials: tuple[str, str] | None = None
    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def authenticate(self, server: SMTP, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        accepted = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == self.credentials
        if accepted:
            self.logins.append(data.login.decode())
        return AuthResult(success=accepted, handled=False)


@contextmanager
def smtp_server(credentials: tuple[str, str] | None = None) -> Iterator[SmtpReceiver]:
    """A real SMTP server on a free loopback port; with ``credentials`` it accepts mail only after that login."""
    receiver = SmtpReceiver(credentials)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def protocol() -> SMTP:
        with warnings.catch_warnings():  # AUTH without TLS: the test server has no certificate, on purpose
            warnings.simplefilter("ignore", UserWarning)
            return SMTP(receiver, hostname="smtp.test", authenticator=receiver.authenticate,
                        auth_required=credentials is not None, auth_require_tls=False)  # fmt: skip

    server = asyncio.run_coroutine_threadsafe(loop.create_server(protocol, "127.0.0.1", 0), loop).result()
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


@dataclass(frozen=True)
class Received:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class WebhookReceiver:
    url: str
    requests: list[Received]


@contextmanager
def webhook_receiver(status: int = 200, answer: bytes = ROBOT_OK) -> Iterator[WebhookReceiver]:
    """A real HTTP server on a free loopback port keeping every JSON body POSTed to it, answering ``status``."""
    received: list[Received] = []

    class Handler(QuietHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            parts = urlsplit(self.path)
            query = {name: values[0] for name, values in parse_qs(parts.query).items()}
            received.append(Received(parts.path, query, dict(self.headers), body))
            self.answer(status, answer, "application/json")

    with local_server(Handler) as url:
        yield WebhookReceiver(url, received)


def write_alerts(folder: Path, data: dict[str, Any]) -> Path:
    path = folder / "alerts.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def email_channel(smtp: SmtpReceiver, **fields: Any) -> dict[str, Any]:
    """An e-mail channel entry sending to ``smtp`` without TLS (the test server has no certificate)."""
    return {"name": "值班邮箱", "type": "email", "host": "127.0.0.1", "port": smtp.port, "security": "none",
            "sender": "adwatch@scjg.test", "recipients": ["guanggao@scjg.test"], **fields}  # fmt: skip

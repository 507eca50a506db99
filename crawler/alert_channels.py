"""Sending an alert: SMTP e-mail, DingTalk and WeCom group robots, a generic JSON webhook.

Each channel gets the crawl's alert as one message.  A channel that fails (SMTP
refused, a robot answering an error code, a webhook down) raises
:class:`AlertSendError`; :func:`deliver` logs it in Chinese and English and goes on
with the next channel, so a failing channel never costs the crawl or the other
channels anything.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any
from urllib.parse import quote_plus

from crawler.alerts import BEIJING, Alert, Channel, DingTalkChannel, EmailChannel, Markup, WebhookChannel, WeComChannel
from crawler.exceptions import AlertSendError

logger = logging.getLogger(__name__)

#: WeCom refuses markdown content over 4,096 bytes of UTF-8.
WECOM_MAX_BYTES = 4096


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature of a robot request: Base64 of HMAC-SHA256 over "timestamp\\nsecret", keyed by the secret."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signed_url(url: str, secret: str, timestamp_ms: int | None = None) -> str:
    """The robot URL with ``timestamp`` and ``sign`` added, as a robot with 加签 (signing) turned on requires."""
    timestamp_ms = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}timestamp={timestamp_ms}&sign={quote_plus(dingtalk_sign(secret, timestamp_ms))}"


def dingtalk_body(alert: Alert) -> dict[str, Any]:
    return {"msgtype": "markdown", "markdown": {"title": alert.title, "text": alert.render(Markup(markdown=True))}}


def _cut_to_bytes(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - len("…".encode())].decode("utf-8", errors="ignore") + "…"


def wecom_body(alert: Alert) -> dict[str, Any]:
    return {"msgtype": "markdown", "markdown": {"content": _cut_to_bytes(alert.render(Markup(True)), WECOM_MAX_BYTES)}}


def post_json(url: str, body: dict[str, Any], timeout: float, headers: dict[str, str] | None = None) -> bytes:
    """POST ``body`` as JSON; the answer's bytes, or AlertSendError for no answer or an HTTP error status."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "AdWatch alerts", **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) checked on load
            return response.read()
    except urllib.error.HTTPError as exc:
        raise AlertSendError(f"HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise AlertSendError(f"无法连接 cannot connect: {getattr(exc, 'reason', exc)}") from None


def _check_robot_answer(answer: bytes) -> None:
    """DingTalk and WeCom answer 200 even when they refuse a message; ``errcode`` 0 is the only success."""
    try:
        reply = json.loads(answer)
    except ValueError:
        raise AlertSendError(f"机器人的回答不是 JSON / the robot's answer is not JSON: {answer[:200]!r}") from None
    if not isinstance(reply, dict) or reply.get("errcode") != 0:
        raise AlertSendError(f"机器人拒绝 / the robot refused: {reply}")


def send_dingtalk(channel: DingTalkChannel, alert: Alert, timeout: float) -> None:
    secret = os.environ.get(channel.secret_env, "") if channel.secret_env else ""
    url = signed_url(channel.url, secret) if secret else channel.url
    _check_robot_answer(post_json(url, dingtalk_body(alert), timeout))


def send_wecom(channel: WeComChannel, alert: Alert, timeout: float) -> None:
    _check_robot_answer(post_json(channel.url, wecom_body(alert), timeout))


def send_webhook(channel: WebhookChannel, alert: Alert, timeout: float) -> None:
    token = os.environ.get(channel.token_env, "") if channel.token_env else ""
    post_json(channel.url, alert.as_json(), timeout, {"Authorization": f"Bearer {token}"} if token else None)


def email_message(channel: EmailChannel, alert: Alert) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = alert.title
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.recipients)
    message["Date"] = format_datetime(alert.facts.finished_at.astimezone(BEIJING))
    message["Message-ID"] = make_msgid(domain=channel.sender.rpartition("@")[2] or None)
    message.set_content(alert.render(Markup(markdown=False)))
    return message


def _smtp(channel: EmailChannel, timeout: float) -> smtplib.SMTP:
    if channel.security == "ssl":
        return smtplib.SMTP_SSL(channel.host, channel.smtp_port, timeout=timeout, context=ssl.create_default_context())
    client = smtplib.SMTP(channel.host, channel.smtp_port, timeout=timeout)
    if channel.security == "starttls":
        client.starttls(context=ssl.create_default_context())
    return client


def send_email(channel: EmailChannel, alert: Alert, timeout: float) -> None:
    try:
        with _smtp(channel, timeout) as client:
            if channel.username:
                client.login(channel.username, os.environ.get(channel.password_env, ""))
            client.send_message(email_message(channel, alert))
    except (smtplib.SMTPException, OSError) as exc:
        raise AlertSendError(f"SMTP {channel.host}:{channel.smtp_port}: {exc}") from None


SENDERS = {"email": send_email, "dingtalk": send_dingtalk, "wecom": send_wecom, "webhook": send_webhook}


def deliver(alerts: list[tuple[Channel, Alert]], timeout: float) -> dict[str, str]:
    """Send each alert on its channel; the channels that failed, with why (logged too). Never raises."""
    failures = {}
    for channel, alert in alerts:
        try:
            SENDERS[channel.type](channel, alert, timeout)
        except Exception as exc:  # noqa: BLE001 - whatever a channel does, the crawl and the other channels go on
            failures[channel.name] = str(exc)
            logger.error(
                "告警发送失败 alert not sent: 站点 site %s, 渠道 channel %s (%s): %s",
                alert.facts.site, channel.name, channel.type, exc,
            )  # fmt: skip
        else:
            logger.info("告警已发送 alert sent: 站点 site %s, 渠道 channel %s (%s): %s",
                        alert.facts.site, channel.name, channel.type, alert.title)  # fmt: skip
    return failures

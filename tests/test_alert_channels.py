"""Sending alerts (crawler.alert_channels) to a real SMTP server and a real webhook receiver."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from crawler.alert_channels import WECOM_MAX_BYTES, deliver, dingtalk_sign, signed_url
from crawler.alerts import CrawlFacts, HitExample, alerts_for, parse_alerts
from tests.alert_receivers import email_channel, smtp_server, webhook_receiver
from tests.test_cli import closed_port_url


def facts(new_hits: int = 37, examples: int = 3) -> CrawlFacts:
    return CrawlFacts(
        site="pharmacy",
        started_at=datetime(2026, 12, 5, 16, 0, tzinfo=UTC),
        finished_at=datetime(2026, 12, 5, 16, 5, tzinfo=UTC),
        finish_reason="finished",
        pages=58,
        items=48,
        error_causes={"http_404": 1},
        new_hits=new_hits,
        new_hit_ads=12,
        examples=[HitExample(f"特效降压药 {n} 号", f"http://pharmacy.test/drug/{n}", "广告法第十六条", "根治", "high")
                  for n in range(examples)],  # fmt: skip
    )


def alerts_on(*channels: dict, console_url: str = "") -> list[tuple]:
    return alerts_for(parse_alerts({"channels": list(channels)}, "alerts.yaml"), facts(), console_url)


def test_dingtalk_signature_is_base64_hmac_sha256_of_timestamp_and_secret() -> None:
    # Expected value computed with openssl:
    # printf '1700000000000\nSEC000' | openssl dgst -sha256 -hmac SEC000 -binary | base64
    assert dingtalk_sign("SEC000", 1_700_000_000_000) == "ltBBey5eZrWKh1cPzFIdz3v3xpkc4Tjx4lLsPSHqdtA="
    url = signed_url("https://oapi.dingtalk.com/robot/send?access_token=abc", "SEC000", 1_700_000_000_000)
    assert url == ("https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1700000000000"
                   "&sign=ltBBey5eZrWKh1cPzFIdz3v3xpkc4Tjx4lLsPSHqdtA%3D")  # fmt: skip


def test_a_dingtalk_robot_gets_one_markdown_message_signed_with_the_secret_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_DINGTALK_SECRET", "SECtest-secret")
    with webhook_receiver() as robot:
        channel = {"name": "钉钉群", "type": "dingtalk", "url": robot.url + "robot/send?access_token=t0k",
                   "secret_env": "TEST_DINGTALK_SECRET"}  # fmt: skip
        assert deliver(alerts_on(channel), timeout=10) == {}
    [request] = robot.requests
    assert request.path == "/robot/send" and request.query["access_token"] == "t0k"
    assert request.query["sign"] == dingtalk_sign("SECtest-secret", int(request.query["timestamp"]))
    assert request.body["msgtype"] == "markdown"
    assert request.body["markdown"]["title"] == "AdWatch 告警 · pharmacy：高风险命中 37 条"
    assert "**高风险命中 37 条**" in request.body["markdown"]["text"]


def test_a_wecom_robot_gets_markdown_content_cut_to_its_4096_byte_limit() -> None:
    many = facts(examples=50)
    with webhook_receiver() as robot:
        plan = parse_alerts({"channels": [{"name": "企业微信群", "type": "wecom", "url": robot.url + "send?key=k"}],
                             "rules": {"high_risk_hits": {"examples": 50}}}, "alerts.yaml")  # fmt: skip
        assert deliver(alerts_for(plan, many, ""), timeout=10) == {}
    [request] = robot.requests
    assert request.body["msgtype"] == "markdown" and set(request.body["markdown"]) == {"content"}
    content = request.body["markdown"]["content"]
    assert content.startswith("### AdWatch 告警 · pharmacy：高风险命中 37 条")
    assert len(content.encode("utf-8")) <= WECOM_MAX_BYTES


def test_a_generic_webhook_gets_the_counts_as_json_fields_and_the_token_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_WEBHOOK_TOKEN", "tok-123")
    with webhook_receiver(answer=b"") as hook:
        channel = {"name": "值班系统", "type": "webhook", "url": hook.url + "adwatch",
                   "token_env": "TEST_WEBHOOK_TOKEN"}
        assert deliver(alerts_on(channel, console_url="https://adwatch.scjg.test/"), timeout=10) == {}
    [request] = hook.requests
    assert request.headers["Authorization"] == "Bearer tok-123"
    body = request.body
    assert body["site"] == "pharmacy" and body["time"] == "2026-12-06T00:05:00+08:00"
    assert body["crawl"]["new_hits"] == 37 and body["crawl"]["new_hit_ads"] == 12
    assert [a["rule"] for a in body["alerts"]] == ["high_risk_hits"]
    assert body["alerts"][0]["link"] == "https://adwatch.scjg.test/queue?site=pharmacy&severity=high"
    assert len(body["examples"]) == 3


def test_an_email_reaches_the_smtp_server_after_logging_in_with_the_password_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret")
    with smtp_server(credentials=("adwatch", "s3cret")) as smtp:
        channel = email_channel(smtp, username="adwatch", password_env="TEST_SMTP_PASSWORD")
        assert deliver(alerts_on(channel), timeout=10) == {}
    [message] = smtp.messages
    assert smtp.logins == ["adwatch"]
    assert message["Subject"] == "AdWatch 告警 · pharmacy：高风险命中 37 条"
    assert message["To"] == "guanggao@scjg.test"
    text = message.get_content()
    assert "高风险命中 37 条：12 条广告" in text and "2026-12-06 00:05（北京时间）" in text
    assert "特效降压药 0 号: http://pharmacy.test/drug/0" in text


def test_a_wrong_smtp_password_is_a_failure_named_with_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong")
    with smtp_server(credentials=("adwatch", "s3cret")) as smtp:
        channel = email_channel(smtp, username="adwatch", password_env="TEST_SMTP_PASSWORD")
        failures = deliver(alerts_on(channel), timeout=10)
    assert smtp.messages == []
    assert f"SMTP 127.0.0.1:{smtp.port}" in failures["值班邮箱"]


@pytest.mark.parametrize(
    ("status", "answer", "why"),
    [
        (500, b"{}", "HTTP 500"),
        (200, b'{"errcode":310000,"errmsg":"sign not match"}', "310000"),
        (200, b"<html>gateway</html>", "not JSON"),
    ],
    ids=["http-500", "robot-refuses", "not-json"],
)
def test_a_refusing_robot_is_logged_in_chinese_and_english_and_the_next_channel_still_gets_its_message(
    status: int, answer: bytes, why: str, caplog: pytest.LogCaptureFixture
) -> None:
    with webhook_receiver(status, answer) as robot, webhook_receiver() as good, smtp_server() as smtp:
        channels = [{"name": "钉钉群", "type": "dingtalk", "url": robot.url},
                    {"name": "企业微信群", "type": "wecom", "url": good.url}, email_channel(smtp)]  # fmt: skip
        with caplog.at_level(logging.ERROR, logger="crawler.alert_channels"):
            failures = deliver(alerts_on(*channels), timeout=10)
    assert list(failures) == ["钉钉群"] and why in failures["钉钉群"]
    assert "告警发送失败 alert not sent" in caplog.text and "钉钉群" in caplog.text
    assert len(good.requests) == 1 and len(smtp.messages) == 1


def test_receivers_that_are_down_are_failures_not_exceptions() -> None:
    dead = closed_port_url()
    port = int(dead.rstrip("/").rpartition(":")[2])
    channels = [{"name": "值班系统", "type": "webhook", "url": dead},
                {"name": "值班邮箱", "type": "email", "host": "127.0.0.1", "port": port, "security": "none",
                 "sender": "adwatch@scjg.test", "recipients": ["guanggao@scjg.test"]}]  # fmt: skip
    failures = deliver(alerts_on(*channels), timeout=10)
    assert set(failures) == {"值班系统", "值班邮箱"}
    assert "无法连接 cannot connect" in failures["值班系统"]


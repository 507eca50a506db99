"""Alerts from real crawls of the sandbox (crawler.extensions.alerts): one message per crawl and channel.

Each test crawls a sandbox site through the real CLI with an alerts file whose
channels point at a real SMTP server and real webhook receivers started here.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from crawler.alert_channels import dingtalk_sign
from indexer.sqlite import SqliteStore
from sandbox.server import SandboxWeb
from tests.alert_receivers import email_channel, smtp_server, webhook_receiver, write_alerts
from tests.conftest import CrawlRun, run_adwatch
from tests.test_cli import closed_port_url

SITE = "pharmacy"
CONSOLE = "https://adwatch.scjg.test/"


def crawl_with_alerts(data_dir: Path, alerts: dict, base_url: str, **env: str) -> CrawlRun:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = write_alerts(data_dir, alerts)
    extra = {"ADWATCH_ALERTS_FILE": str(path), "ADWATCH_ALERTS_CONSOLE_URL": CONSOLE, **env}
    return run_adwatch(["crawl", SITE, "--base-url", f"{SITE}={base_url}"], data_dir, extra_env=extra)


def stored_high_hits(data_dir: Path) -> tuple[int, int]:
    with sqlite3.connect(data_dir / "adwatch.db") as conn:
        return conn.execute("SELECT count(*), count(DISTINCT ad_id) FROM hits WHERE site = ? AND severity = 'high'",
                            (SITE,)).fetchone()  # fmt: skip


def crawl_log(data_dir: Path) -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted((data_dir / "logs").glob("crawl-*.log")))


def hook(name: str, url: str, **fields: str) -> dict:
    return {"name": name, "type": "webhook", "url": url, **fields}


def test_a_crawl_with_dozens_of_hits_sends_one_message_per_channel_with_the_counts(
    web: SandboxWeb, tmp_path: Path
) -> None:
    with smtp_server() as smtp, webhook_receiver() as robots, webhook_receiver(answer=b"") as generic:
        channels = [
            email_channel(smtp),
            {"name": "钉钉群", "type": "dingtalk", "url": robots.url + "dingtalk?access_token=t", "secret_env": "DT"},
            {"name": "企业微信群", "type": "wecom", "url": robots.url + "wecom?key=k"},
            hook("值班系统", generic.url),
        ]
        run = crawl_with_alerts(tmp_path, {"channels": channels}, web.base_urls[SITE], DT="SECsandbox")
    assert run.returncode == 0, run.stderr
    hits, ads = stored_high_hits(tmp_path)
    assert hits > 20 and ads > 5  # many hits, still one message per channel

    [mail] = smtp.messages
    assert mail["Subject"] == f"AdWatch 告警 · {SITE}：高风险命中 {hits} 条"
    assert f"高风险命中 {hits} 条：{ads} 条广告" in mail.get_content()
    dingtalk, wecom = sorted(robots.requests, key=lambda r: r.path)
    assert dingtalk.path == "/dingtalk" and dingtalk.query["sign"] == dingtalk_sign("SECsandbox",
                                                                                    int(dingtalk.query["timestamp"]))
    assert f"**高风险命中 {hits} 条**" in dingtalk.body["markdown"]["text"]
    assert wecom.path == "/wecom" and f"**高风险命中 {hits} 条**" in wecom.body["markdown"]["content"]
    [sent] = generic.requests
    assert sent.body["crawl"]["new_hits"] == hits and sent.body["crawl"]["new_hit_ads"] == ads
    assert sent.body["alerts"][0]["link"] == f"{CONSOLE}queue?site={SITE}&severity=high"
    assert "告警已发送 alert sent" in crawl_log(tmp_path)


def test_crawling_the_same_ads_again_sends_nothing_new(web: SandboxWeb, tmp_path: Path) -> None:
    with webhook_receiver(answer=b"") as generic:
        alerts = {"channels": [hook("值班系统", generic.url)]}
        first = crawl_with_alerts(tmp_path, alerts, web.base_urls[SITE])
        again = crawl_with_alerts(tmp_path, alerts, web.base_urls[SITE])
    assert first.returncode == again.returncode == 0
    assert len(generic.requests) == 1


def test_a_site_that_is_down_alerts_crawl_failed(tmp_path: Path) -> None:
    with webhook_receiver(answer=b"") as generic:
        run = crawl_with_alerts(tmp_path, {"channels": [hook("值班系统", generic.url)]}, closed_port_url())
    assert run.returncode == 0, run.stderr
    [sent] = generic.requests
    assert sent.body["title"] == f"AdWatch 告警 · {SITE}：抓取失败"
    assert "页面 0" in sent.body["alerts"][0]["summary"]
    assert sent.body["alerts"][0]["link"] == f"{CONSOLE}monitor"


def test_a_site_giving_far_fewer_ads_than_in_its_recent_crawls_alerts_site_anomaly(
    web: SandboxWeb, tmp_path: Path
) -> None:
    with SqliteStore(tmp_path / "adwatch.db") as store:
        for day in (1, 2, 3):
            store.record_run({"site": SITE, "started_at": f"2026-11-0{day}T02:00:00+00:00",
                              "finished_at": f"2026-11-0{day}T02:05:00+00:00", "finish_reason": "finished",
                              "pages": 900, "items": 800, "new_versions": 0, "unchanged": 800, "hits": 0,
                              "errors": 0})  # fmt: skip
    with webhook_receiver(answer=b"") as generic:
        alerts = {"channels": [hook("值班系统", generic.url, rules=["site_anomaly"])]}
        run = crawl_with_alerts(tmp_path, alerts, web.base_urls[SITE])
    assert run.returncode == 0, run.stderr
    [sent] = generic.requests
    items = sent.body["crawl"]["items"]
    assert [a["summary"] for a in sent.body["alerts"]] == [
        f"站点异常：广告 {items} 条，近 3 次抓取中位数 800 条（低于 30%）"
    ]


def test_receivers_that_are_down_or_failing_cost_the_crawl_nothing_and_are_logged(
    web: SandboxWeb, tmp_path: Path
) -> None:
    dead = closed_port_url()
    dead_smtp = {"name": "值班邮箱", "type": "email", "host": "127.0.0.1", "security": "none",
                 "port": int(dead.rstrip("/").rpartition(":")[2]), "sender": "adwatch@scjg.test",
                 "recipients": ["guanggao@scjg.test"]}  # fmt: skip
    with webhook_receiver(status=500) as failing:
        alerts = {"channels": [dead_smtp, hook("值班系统", failing.url), hook("备用", dead)]}
        run = crawl_with_alerts(tmp_path, alerts, web.base_urls[SITE])
    assert run.returncode == 0, run.stderr
    assert len(failing.requests) == 1
    with sqlite3.connect(tmp_path / "adwatch.db") as conn:
        assert conn.execute("SELECT finish_reason, items > 0 FROM crawl_runs").fetchall() == [("finished", 1)]
    log = crawl_log(tmp_path)
    assert log.count("告警发送失败 alert not sent") == 3
    assert "渠道 channel 值班系统 (webhook): HTTP 500" in log
    assert "Traceback" not in log


def test_an_invalid_alerts_file_stops_the_crawl_before_it_starts_naming_the_file_entry_and_field(
    web: SandboxWeb, tmp_path: Path
) -> None:
    alerts = {"channels": [{"name": "钉钉群", "type": "dingtalk", "url": "oapi.dingtalk.com/robot/send"}]}
    run = crawl_with_alerts(tmp_path, alerts, web.base_urls[SITE])
    assert run.returncode != 0
    assert f"{tmp_path / 'alerts.yaml'}: channels[0] (钉钉群): field 'url'" in run.stderr
    assert not (tmp_path / "adwatch.db").exists()

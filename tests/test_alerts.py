"""Alert rules and messages (crawler.alerts): the alerts file, what fires when, and what the message says."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from scrapy.settings import Settings

from crawler.alerts import (
    Alert,
    AlertRules,
    AlertsConfig,
    CrawlFacts,
    HitExample,
    Markup,
    alerts_for,
    evaluate,
    load_alerts,
    parse_alerts,
    plain_text,
    store_facts,
)
from crawler.config import project_settings
from crawler.exceptions import AlertConfigError
from crawler.items import AdItem
from indexer.sqlite import SqliteStore
from tests.alert_receivers import write_alerts

HOOK = {"name": "值班系统", "type": "webhook", "url": "https://hooks.scjg.test/adwatch"}
STARTED = datetime(2026, 12, 5, 16, 0, tzinfo=UTC)


def crawl(**changes: Any) -> CrawlFacts:
    """A normal crawl of the pharmacy: 58 pages, 48 ads, one 404, nothing new."""
    facts = CrawlFacts("pharmacy", STARTED, STARTED + timedelta(minutes=5), "finished", 58, 48, {"http_404": 1})
    return replace(facts, **changes)


def findings(facts: CrawlFacts, **rules: Any) -> list[str]:
    return [f.rule for f in evaluate(AlertRules.model_validate(rules), facts)]


# --- the alerts file ---


def test_a_file_with_only_channels_gets_every_rule_with_its_documented_defaults() -> None:
    plan = parse_alerts({"channels": [HOOK]}, "alerts.yaml")
    assert plan.rules.high_risk_hits.severities == ["high"] and plan.rules.high_risk_hits.min_hits == 1
    assert plan.rules.crawl_failed.enabled
    anomaly = plan.rules.site_anomaly
    assert (anomaly.recent_runs, anomaly.min_runs, anomaly.items_ratio, anomaly.error_ratio) == (5, 3, 0.3, 0.5)
    assert plan.channels[0].rules == ["high_risk_hits", "crawl_failed", "site_anomaly"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"channels": [HOOK, {"name": "钉钉群", "type": "dingtalk", "url": "oapi.dingtalk.com/robot"}]},
         "channels[1] (钉钉群): field 'url': 应为 http(s) 地址"),
        ({"channels": [{"name": "钉钉群", "type": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send",
                        "secret_env": "ADWATCH_TEST_UNSET_SECRET"}]},
         "channels[0] (钉钉群): field 'secret_env': 环境变量 ADWATCH_TEST_UNSET_SECRET 未设置"),
        ({"channels": [{"name": "值班邮箱", "type": "email", "host": "smtp.scjg.test", "sender": "a@scjg.test"}]},
         "channels[0] (值班邮箱): field 'recipients': Field required"),
        ({"channels": [{"name": "值班邮箱", "type": "email", "host": "smtp.scjg.test", "sender": "a@scjg.test",
                        "recipients": ["b@scjg.test"], "username": "adwatch"}]},
         "channels[0] (值班邮箱): field 'channels': 有 username 时须给出 password_env"),
        ({"channels": [{**HOOK, "type": "feishu"}]}, "channels[0] (值班系统): field 'channels': Input tag 'feishu'"),
        ({"channels": [{**HOOK, "rules": ["high_risk"]}]}, "channels[0] (值班系统): field 'rules.0': Input should be"),
        ({"channels": [HOOK, HOOK]}, "field 'channels': 渠道名称重复 / channel names repeated: 值班系统"),
        ({"channels": [HOOK], "rules": {"site_anomaly": {"min_runs": 6}}},
         "field 'rules.site_anomaly': min_runs (6) 不能大于 must not exceed recent_runs (5)"),
        ({"channels": [HOOK], "rules": {"high_risk_hits": {"severity": "high"}}},
         "field 'rules.high_risk_hits.severity': Extra inputs are not permitted"),
        ({"channels": []}, "field 'channels': List should have at least 1 item"),
    ],
    ids=["url", "secret-env-unset", "no-recipients", "login-without-password", "unknown-type", "unknown-rule",
         "repeated-name", "runs", "misspelt-field", "no-channel"],
)  # fmt: skip
def test_errors_name_the_file_the_entry_and_the_field(tmp_path: Path, data: dict, message: str) -> None:
    path = write_alerts(tmp_path, data)
    with pytest.raises(AlertConfigError) as caught:
        load_alerts(path)
    assert f"{path}: {message}" in str(caught.value)


def test_a_file_that_is_not_yaml_or_missing_is_named(tmp_path: Path) -> None:
    path = tmp_path / "alerts.yaml"
    with pytest.raises(AlertConfigError, match="无法读取告警配置"):
        load_alerts(path)
    path.write_text("channels: [unclosed", encoding="utf-8")
    with pytest.raises(AlertConfigError, match=f"{path}: 不是有效的 YAML"):
        load_alerts(path)


def test_alerts_are_off_without_a_file_and_when_disabled(tmp_path: Path) -> None:
    path = write_alerts(tmp_path, {"channels": [HOOK]})
    assert AlertsConfig.from_settings(project_settings()).plan is None
    assert AlertsConfig.from_settings(Settings({"ADWATCH_ALERTS_FILE": str(path), "ADWATCH_ALERTS_ENABLED": False,
                                                "ADWATCH_ALERTS_TIMEOUT": 10})).plan is None  # fmt: skip
    config = AlertsConfig.from_settings(project_settings({"ADWATCH_ALERTS_FILE": str(path)}))
    assert config.plan is not None and config.plan.channels[0].name == "值班系统"


# --- the rules ---


def test_high_risk_hits_fire_on_new_hits_from_min_hits_on() -> None:
    assert findings(crawl(new_hits=0)) == []
    assert findings(crawl(new_hits=1, new_hit_ads=1)) == ["high_risk_hits"]
    assert findings(crawl(new_hits=4), high_risk_hits={"min_hits": 5}) == []
    assert findings(crawl(new_hits=4), high_risk_hits={"enabled": False}) == []


@pytest.mark.parametrize(
    "facts",
    [crawl(finish_reason="shutdown"), crawl(finish_reason="closespider_timeout"),
     crawl(pages=0, items=0, error_causes={"ConnectionRefusedError": 2})],
    ids=["interrupted", "timed-out", "nothing-fetched"],
)  # fmt: skip
def test_a_crawl_that_did_not_finish_or_fetched_nothing_failed(facts: CrawlFacts) -> None:
    assert "crawl_failed" in findings(facts)


def test_a_site_giving_far_fewer_ads_than_its_recent_median_is_anomalous() -> None:
    usual = [50, 48, 47, 51, 49]
    assert findings(crawl(items=14, recent_items=usual)) == ["site_anomaly"]  # 14 < 0.3 × 49
    assert findings(crawl(items=15, recent_items=usual)) == []
    assert findings(crawl(items=1, recent_items=[50, 50])) == []  # fewer runs than min_runs: no level known yet
    assert findings(crawl(items=1, recent_items=[50, 50]), site_anomaly={"min_runs": 2}) == ["site_anomaly"]


def test_a_site_answering_mostly_errors_is_anomalous() -> None:
    assert findings(crawl(pages=40, error_causes={"http_500": 20})) == ["site_anomaly"]  # 20 of 40 responses
    assert findings(crawl(pages=40, error_causes={"http_500": 19})) == []
    # Requests without a response count as requests too: 10 timeouts and 10 responses of which 2 are 404s.
    assert findings(crawl(pages=10, error_causes={"TimeoutError": 10, "http_404": 2})) == ["site_anomaly"]
    assert findings(crawl(pages=8, error_causes={"http_500": 8})) == []  # below min_requests


# --- the message ---


def test_the_message_gives_the_counts_the_site_beijing_time_and_the_console_links() -> None:
    example = HitExample("降压灵", "http://pharmacy.test/d/1", "广告法第十六条", "根治", "high")
    facts = crawl(new_hits=37, new_hit_ads=12, finish_reason="shutdown", examples=[example])
    [(_, alert)] = alerts_for(parse_alerts({"channels": [HOOK]}, "alerts.yaml"), facts, "https://adwatch.scjg.test")
    assert alert.title == "AdWatch 告警 · pharmacy：高风险命中 37 条、抓取失败"
    text = alert.render(Markup(markdown=True))
    assert "- **高风险命中 37 条**：12 条广告，新增待审核（严重程度 高）" in text
    assert "- **抓取失败**：结束原因 shutdown（被中止），页面 58，错误 1（http_404 ×1）" in text
    assert "- 时间 time：2026-12-06 00:05（北京时间）" in text
    assert "1. [降压灵](http://pharmacy.test/d/1) 广告法第十六条「根治」" in text
    queue = "https://adwatch.scjg.test/queue?site=pharmacy&severity=high"
    assert f"- [在审核台审核这些命中 review the hits in the console]({queue})" in text
    assert "- [运行监控 crawl monitor](https://adwatch.scjg.test/monitor)" in text


def test_a_channel_gets_only_the_findings_of_its_rules_and_nothing_when_none_fired() -> None:
    plan = parse_alerts({"channels": [{**HOOK, "rules": ["crawl_failed"]}, {**HOOK, "name": "全部"}]}, "a.yaml")
    assert [channel.name for channel, _ in alerts_for(plan, crawl(new_hits=3), "")] == ["全部"]
    assert alerts_for(plan, crawl(), "") == []


def test_crawled_text_cannot_add_links_tags_or_lines_to_a_robots_markdown() -> None:
    title = "正品](http://phish.test) <font color=\"warning\">**紧急**</font>\n### 假标题"
    inert = "正品］(http://phish.test) ＜font color=\"warning\"＞＊＊紧急＊＊＜/font＞ ＃＃＃ 假标题"
    assert plain_text(title, 200) == inert
    example = HitExample(title, "http://pharmacy.test/d/(1) x", "广告法第九条", "最[佳]", "high")
    text = Alert(crawl(new_hits=1, examples=[example]), evaluate(AlertRules(), crawl(new_hits=1))).render(Markup(True))
    assert "(http://pharmacy.test/d/%281%29%20x)" in text and "](http://phish.test)" not in text


# --- the store, read-only ---


def test_the_store_gives_this_crawls_new_hits_riskiest_first_and_the_sites_earlier_runs(tmp_path: Path) -> None:
    db_path = tmp_path / "adwatch.db"
    with SqliteStore(db_path) as store:
        for items in (40, 45, 50):
            store.record_run({"site": "pharmacy", "started_at": "2026-12-01T00:00:00+00:00",
                              "finished_at": "2026-12-01T00:05:00+00:00", "finish_reason": "finished", "pages": 60,
                              "items": items, "new_versions": 0, "unchanged": 0, "hits": 0, "errors": 0})  # fmt: skip
    since = datetime.now(UTC) - timedelta(seconds=1)
    with SqliteStore(db_path) as store:
        store.save_items([checked_item(n) for n in range(3)])
    found = store_facts(db_path, "pharmacy", since, AlertRules())
    assert (found["new_hits"], found["new_hit_ads"]) == (3, 3)
    assert [e.title for e in found["examples"]] == ["最佳药品 2", "最佳药品 1", "最佳药品 0"]  # riskiest first
    assert found["recent_items"] == [50, 45, 40]
    assert store_facts(db_path, "pharmacy", datetime.now(UTC) + timedelta(seconds=2), AlertRules())["new_hits"] == 0
    assert store_facts(tmp_path / "missing.db", "pharmacy", since, AlertRules()) == {}
    with sqlite3.connect(db_path) as conn:  # read-only: nothing written
        assert conn.execute("SELECT count(*) FROM crawl_runs").fetchone() == (3,)


def checked_item(n: int) -> AdItem:
    hit = {"rule_id": "absolute-terms", "law": "广告法", "article": "第九条第三项", "article_key": "广告法第九条",
           "severity": "high", "category": "general", "matched": "最佳", "start": 0, "end": 2,
           "explanation": "绝对化用语", "penalty": ""}  # fmt: skip
    return AdItem(url=f"http://pharmacy.test/d/{n}", site="pharmacy", canonical_url=f"http://pharmacy.test/d/{n}",
                  title=f"最佳药品 {n}", content_hash=f"h{n}", fetched_at="2026-12-05T16:00:00+00:00",
                  hits=[hit], risk=n / 10)  # fmt: skip

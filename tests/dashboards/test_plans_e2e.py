"""抓取计划 in Debian's Chromium, with a real scheduler service running beside the console on the same job store.

The chief reads the plans in plain Chinese, edits one and adds one with a Chinese id, and the running service
follows both without a restart: its jobs' next runs become the new plans' (the page shows them from the job
store, and the service's own scheduler holds them).  An invalid edit is refused with its reason in Chinese and
changes nothing; pause and resume reach the service's jobs; the calendars show the next 30 days and the next
surge window.  ``ADWATCH_SCREENSHOT_DIR=docs/img`` also saves the README's screenshot of the page.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from crawler.plans import load_plans
from scheduler import JOB_PREFIX, CrawlLauncher, CrawlService, known_sites
from tests.conftest import CrawlRun
from tests.dashboards.conftest import Console, browser_login, copy_crawl, serve_console
from tests.dashboards.test_console_e2e import _save_screenshot

PLANS = """windows:
  double11: {start: "10-20", end: "11-12", title: 双十一}
plans:
  - id: 每日
    description: 每日例行抓取
    sites: [mall, news]
    cron: "0 2 * * *"
    max_runtime: 30m
"""


@pytest.fixture
def planned(crawled: CrawlRun, tmp_path: Path) -> Iterator[Console]:
    plan_dir = tmp_path / "plans"
    plan_dir.mkdir()
    (plan_dir / "plans.yaml").write_text(PLANS, encoding="utf-8")
    with serve_console(copy_crawl(crawled, tmp_path / "data"), "sqlite", ADWATCH_SCHEDULE_DIRS=[str(plan_dir)],
                       ADWATCH_SCHEDULE_POLL_SECONDS=0.2) as served:
        yield served


@pytest.fixture
def service(planned: Console) -> Iterator[CrawlService]:
    """``adwatch schedule run`` as it runs in production, in a thread: the same job store and plan files."""
    config = planned.config.schedule
    plans = load_plans(config.plan_dirs, known_sites(), config.timezone)
    running = CrawlService(config, plans, CrawlLauncher(config.data_dir, config.kill_grace))
    stop = threading.Event()
    thread = threading.Thread(target=running.serve, args=(stop,), daemon=True)
    thread.start()
    assert running.serving.wait(60), "the scheduler service did not start"
    yield running
    stop.set()
    thread.join(60)


def _next(service: CrawlService, site: str) -> datetime | None:
    return service.scheduler.get_job(JOB_PREFIX + site).next_run_time


def _beijing(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def _next_daily(service: CrawlService, hour: int, minute: int) -> datetime:
    now = datetime.now(service.config.timezone)
    today = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return today if today > now else today + timedelta(days=1)


def test_plans_edited_in_the_page_are_followed_by_the_running_scheduler(planned: Console, service: CrawlService,
                                                                         browser: object) -> None:
    page = browser_login(browser, planned, "chief1")
    page.goto(f"{planned.url}/plans")
    expect(page.locator("#service")).to_have_attribute("data-current", "1")
    assert "调度服务运行中" in page.locator("#service").inner_text()
    assert page.locator("tr[data-plan='每日'] td.plain").inner_text() == "每天 02:00"
    mall = page.locator("#jobs tr[data-site='mall']")
    assert mall.locator(".next-run").inner_text() == _beijing(_next_daily(service, 2, 0))

    # Edit the daily plan to 09:30: the service follows it, and the page shows the job store's next run.
    page.locator("tr.edit-row summary", has_text="每日").click()
    form = page.locator("form.plan-form[data-plan='每日']")
    form.locator("input[name=cron]").fill("30 9 * * *")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/plans?saved=*")
    expect(page.locator("#service")).to_have_attribute("data-current", "1", timeout=60_000)
    nine_thirty = _next_daily(service, 9, 30)
    expect(mall.locator(".next-run")).to_have_text(_beijing(nine_thirty))
    assert page.locator("tr[data-plan='每日'] td.plain").inner_text() == "每天 09:30"
    assert _next(service, "mall") == nine_thirty and _next(service, "news") == nine_thirty

    # A plan with a Chinese id and its own window, for a site no plan crawled: the service adds its job.
    new = page.locator("#new-plan form")
    new.locator("input[name=id]").fill("双十一医院")
    new.locator("input[name=sites]").fill("hospital")
    new.locator("input[name=interval]").fill("2h")
    new.locator("input[name=windows]").fill("双十一=11-01..11-12")
    new.locator("input[name=priority]").fill("10")
    new.locator("button[type=submit]").click()
    page.wait_for_url("**/plans?saved=*")
    assert page.locator("tr[data-plan='双十一医院'] td.plain").inner_text() == "双十一期间 11-01 至 11-12 每 2 小时"
    expect(page.locator("#service")).to_have_attribute("data-current", "1", timeout=60_000)
    first_surge = datetime(datetime.now().year + 1, 11, 1, tzinfo=service.config.timezone)
    expect(page.locator("#jobs tr[data-site='hospital'] .next-run")).to_have_text(_beijing(first_surge))
    assert _next(service, "hospital") == first_surge
    _save_screenshot(page, "plans.png", planned)

    # The calendars: each of the next 30 days crawls mall and news once; the surge window hospital every two hours.
    next_30, surge = page.locator(".calendar").all()
    assert next_30.locator("td[data-day]").count() == 30
    assert set(next_30.locator("td[data-day] .count").all_inner_texts()) == {"2 次"}
    assert "下一个高峰" in surge.inner_text() and "双十一" in surge.inner_text()
    assert surge.locator("td[data-day]").count() == 12
    assert set(surge.locator("td.surge .count").all_inner_texts()) == {"14 次"}  # and mall, news daily
    next_30.scroll_into_view_if_needed()
    _save_screenshot(page, "plans-calendar.png", planned)

    # An invalid edit is refused with its reason, and nothing changes.
    files = {path: path.read_text(encoding="utf-8") for path in service.config.plan_dirs[0].glob("*.yaml")}
    assert sorted(path.name for path in files) == ["local.yaml", "plans.yaml"]  # new plans go to local.yaml
    new = page.locator("#new-plan form")
    new.locator("input[name=id]").fill("周一计划")
    new.locator("input[name=sites]").fill("collect")
    new.locator("input[name=cron]").fill("0 2 * * 1")
    new.locator("button[type=submit]").click()
    assert "星期请写 mon–sun" in page.locator("#plan-error").inner_text()
    assert "local.yaml: plans[1] (周一计划) → cron" in page.locator("#plan-error").inner_text()
    assert {path: path.read_text(encoding="utf-8") for path in files} == files

    # Pause and resume reach the running service's jobs.
    page.goto(f"{planned.url}/plans")
    mall.locator("button.pause").click()
    expect(mall.locator(".next-run")).to_have_text("已暂停")
    assert _next(service, "mall") is None
    mall.locator("button.resume").click()
    expect(mall.locator(".next-run")).to_have_text(_beijing(nine_thirty))
    assert _next(service, "mall") == nine_thirty
    page.context.close()

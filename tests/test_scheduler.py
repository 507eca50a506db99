"""The crawl scheduler on a controllable clock: plans, windows, misfires, overlap, two schedulers, timeouts.

Fire times come from the real APScheduler triggers over simulated days; the real BackgroundScheduler runs
under time-machine where it has to (misfire after downtime, two schedulers), with a fake launcher standing in
for the crawl process, except in the tests that stop, or kill, and resume a real crawl.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from click.testing import CliRunner, Result
from rich.cells import cell_len
from rich.console import Console

import scheduler as scheduler_module
from crawler.exceptions import PlanError
from crawler.plans import PlanSet, describe_cron, load_plans
from sandbox.server import SandboxWeb
from scheduler import (
    JOB_PREFIX,
    CrawlLauncher,
    CrawlOutcome,
    CrawlService,
    RunStore,
    ScheduleConfig,
    known_sites,
    make_engine,
)
from tests.conftest import REPO, QuietHandler, local_server
from tests.test_resume import SITE as RESUMED_SITE
from tests.test_resume import crawl_env, kill_when_done

TZ = ZoneInfo("Asia/Shanghai")
PLAN_DIR = REPO / "sandbox" / "schedules"
SHOPS = ("flashsale", "healthfood", "jsmall", "mall", "pharmacy")
OTHERS = ("collect", "hospital", "news")
KNOWN = known_sites()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def sandbox_plans() -> PlanSet:
    return load_plans([PLAN_DIR], KNOWN, TZ)


def every(start: str, end: str, step: timedelta) -> list[datetime]:
    """Times from ``start`` while before ``end``, ``step`` apart (written out without APScheduler)."""
    moments, moment = [], at(start)
    while moment < at(end):
        moments.append(moment)
        moment += step
    return moments


DAY, TWO_HOURS, FOUR_HOURS = timedelta(days=1), timedelta(hours=2), timedelta(hours=4)


# --- plans ------------------------------------------------------------------------------------------


def test_a_simulated_30_days_fire_exactly_the_expected_crawls() -> None:
    """10-05 to 11-04: daily 02:00 for all; from 10-20 (双十一 window) the shops every two hours instead."""
    expected = {(moment, site) for site in OTHERS for moment in every("2026-10-05 02:00", "2026-11-04", DAY)}
    for site in SHOPS:
        expected |= {(moment, site) for moment in every("2026-10-05 02:00", "2026-10-20", DAY)}
        expected |= {(moment, site) for moment in every("2026-10-20 00:00", "2026-11-04", TWO_HOURS)}
    fired = sandbox_plans().fire_times(at("2026-10-05 00:00"), at("2026-11-04 00:00"))
    assert len(fired) == len(expected) == 3 * 30 + 5 * (15 + 15 * 12)
    assert {(moment, site) for moment, site, _ in fired} == expected
    plans = Counter((site in SHOPS, plan) for moment, site, plan in fired)
    assert plans == {(False, "daily"): 90, (True, "daily"): 75, (True, "double11-surge"): 900}


def test_the_surge_window_closes_and_the_daily_plan_comes_back() -> None:
    fired = [(m, p) for m, s, p in sandbox_plans().fire_times(at("2026-11-12 20:00"), at("2026-11-14 03:00"))
             if s == "mall"]  # fmt: skip
    assert fired == [
        (at("2026-11-12 20:00"), "double11-surge"),
        (at("2026-11-12 22:00"), "double11-surge"),
        (at("2026-11-13 02:00"), "daily"),
        (at("2026-11-14 02:00"), "daily"),
    ]


def test_the_618_window_crawls_the_shops_every_four_hours() -> None:
    fired = sandbox_plans().fire_times(at("2026-05-24 00:00"), at("2026-06-22 00:00"))
    mall = [(m, p) for m, s, p in fired if s == "mall"]
    expected = [(at("2026-05-24 02:00"), "daily")]
    expected += [(m, "618-surge") for m in every("2026-05-25 00:00", "2026-06-21", FOUR_HOURS)]
    expected += [(at("2026-06-21 02:00"), "daily")]
    assert mall == expected
    assert [m for m, s, _ in fired if s == "news"] == every("2026-05-24 02:00", "2026-06-22", DAY)


def test_a_job_started_late_stands_for_the_latest_fire_time() -> None:
    trigger = sandbox_plans().trigger("mall")
    assert trigger.latest_fire(at("2026-10-25 03:59")) == at("2026-10-25 02:00")
    assert trigger.latest_fire(at("2026-10-15 01:00")) == at("2026-10-14 02:00")
    assert trigger.plan_at(at("2026-10-25 02:00")).id == "double11-surge"


def _write_plans(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "plans.yaml").write_text(text, encoding="utf-8")
    return directory


PLAN_ERRORS = [
    ("plans:\n  - {id: nightly, sites: [mall], cron: '0 25 * * *'}\n", "plans[0] (nightly) → cron: cron 有误 bad cron"),
    ("plans:\n  - {id: nightly, sites: [mal], cron: '0 2 * * *'}\n", "unknown site 'mal'；did you mean 'mall'?"),
    ("plans:\n  - {id: weekly, sites: [mall], cron: '0 2 * * 1'}\n", "write the weekday as mon-sun"),
    ("plans:\n  - {id: both, sites: [mall], cron: '0 2 * * *', interval: 2h}\n", "exactly one of cron or interval"),
    ("plans:\n  - {id: often, sites: [mall], interval: soon}\n", "plans[0] (often) → interval: 时长有误 bad duration"),
    (
        "windows:\n  w: {start: '11-12', end: '10-20'}\nplans:\n  - {id: s, sites: [mall], cron: '0 2 * * *'}\n",
        "windows.w → entry: 起止颠倒（跨年请拆成两个时间窗） inverted window",
    ),
    (
        "windows:\n  a: {start: '10-01', end: '10-31'}\n  b: {start: '10-20', end: '11-12'}\nplans:\n"
        "  - {id: x, sites: [mall], interval: 2h, windows: [a], priority: 5}\n"
        "  - {id: y, sites: ['@sandbox'], interval: 3h, windows: [b], priority: 5}\n",
        "plans[1] (y) → windows: overlaps plan 'x' for mall at the same priority 5",
    ),
    (
        "plans:\n  - {id: x, sites: [mall], cron: '0 2 * * *', windows: [double12]}\n",
        "plans[0] (x) → windows: 未知时间窗 unknown window 'double12'",
    ),
    ("plans:\n  - {id: x, sites: ['@shopz'], cron: '0 2 * * *'}\n", "unknown group '@shopz'"),
]


@pytest.mark.parametrize(("text", "message"), PLAN_ERRORS, ids=[
    "bad-cron", "unknown-site", "numeric-weekday", "two-triggers", "bad-interval", "inverted-window",
    "overlapping-windows", "unknown-window", "unknown-group"])  # fmt: skip
def test_invalid_plans_are_rejected_naming_file_entry_and_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(PlanError) as caught:
        load_plans([_write_plans(tmp_path, text)], KNOWN, TZ)
    assert "plans.yaml" in str(caught.value)
    assert message in str(caught.value)


def test_the_shipped_plans_are_valid() -> None:
    for directory in (PLAN_DIR, REPO / "crawler" / "schedules"):
        assert load_plans([directory], KNOWN, TZ).plans


# --- the service ---------------------------------------------------------------------------------------


class FakeLauncher:
    """Records every crawl; ``gate`` (if set) holds the crawls of ``held`` sites until it is opened."""

    def __init__(self, gate: threading.Event | None = None, held: tuple[str, ...] = ()) -> None:
        self.calls: list[tuple[str, datetime]] = []
        self.gate = gate
        self.held = held
        self.lock = threading.Lock()

    def run(self, site: str, max_runtime: float) -> CrawlOutcome:
        with self.lock:
            self.calls.append((site, datetime.now(TZ)))
        if self.gate is not None and site in self.held:
            self.gate.wait(10)
        return CrawlOutcome("ok", "finished", pages=3, ads=2, hits=1)

    def stop_all(self) -> None:
        if self.gate is not None:
            self.gate.set()


def config_for(tmp_path: Path, **changes: object) -> ScheduleConfig:
    values: dict[str, object] = {
        "enabled": True,
        "db_url": f"sqlite:///{tmp_path / 'adwatch.db'}",
        "plan_dirs": [PLAN_DIR],
        "timezone": TZ,
        "misfire_grace": 86400.0,
        "max_runtime": 60.0,
        "kill_grace": 2.0,
        "poll_seconds": 0.2,
        "workers": 2,
        "data_dir": tmp_path,
    }
    return ScheduleConfig(**{**values, **changes})  # type: ignore[arg-type]


@pytest.fixture
def make_service(tmp_path: Path) -> Iterator:
    services: list[CrawlService] = []

    def make(launcher: FakeLauncher, clock=None, **changes: object) -> CrawlService:
        service = CrawlService(config_for(tmp_path, **changes), sandbox_plans(), launcher, clock=clock)
        services.append(service)
        return service

    yield make
    for service in services:
        service.shutdown()


def test_jobs_have_fixed_ids_coalesce_and_an_explicit_misfire_grace(make_service) -> None:
    service = make_service(FakeLauncher())
    service.start(paused=True)
    jobs = {job.id: job for job in service.scheduler.get_jobs()}
    assert set(jobs) == {JOB_PREFIX + site for site in SHOPS + OTHERS}
    for job in jobs.values():
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 86400)


def test_the_simulated_month_run_by_the_service_records_each_crawl_once(make_service) -> None:
    """Drive the service's job function on a virtual clock at every fire time (plus a second late)."""
    clock = {"now": at("2026-10-18 00:00")}
    launcher = FakeLauncher()
    service = make_service(launcher, clock=lambda: clock["now"])
    fired = sandbox_plans().fire_times(at("2026-10-18 00:00"), at("2026-10-22 00:00"))
    for moment, site, _ in fired:
        clock["now"] = moment + timedelta(seconds=1)
        assert service.run_site(site).status == "ok"
        assert service.run_site(site).status == "duplicate"  # the same scheduled run, submitted twice
    history = service.runs.history(limit=10_000)
    assert sorted((row["scheduled_for"], row["site"]) for row in history) == sorted(
        (moment.isoformat(), site) for moment, site, _ in fired
    )
    assert {row["status"] for row in history} == {"ok"}
    assert len(launcher.calls) == len(fired) == 3 * 4 + 5 * (2 + 2 * 12)


def test_no_two_runs_of_one_site_overlap(make_service) -> None:
    gate = threading.Event()
    launcher = FakeLauncher(gate, held=("mall",))
    service = make_service(launcher, clock=lambda: at("2026-10-10 02:00:05"))
    first = threading.Thread(target=service.run_site, args=("mall",))
    first.start()
    while not launcher.calls:
        time.sleep(0.01)
    assert service.run_site("mall", kind="manual").status == "skipped"
    assert service.run_site("news").status == "ok"  # other sites are not held up
    gate.set()
    first.join(5)
    rows = {(row["site"], row["status"]) for row in service.runs.history(limit=10)}
    assert rows == {("mall", "ok"), ("mall", "skipped"), ("news", "ok")}
    assert [site for site, _ in launcher.calls] == ["mall", "news"]


def _wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_missed_crawl_runs_once_after_downtime_not_n_times_not_zero(make_service) -> None:
    with time_machine.travel(at("2026-10-01 01:00"), tick=True):
        first = make_service(FakeLauncher())
        first.start()  # jobs due 10-01 02:00 …
        first.shutdown()  # … but the machine goes down
    launcher = FakeLauncher()
    with time_machine.travel(at("2026-10-04 09:00"), tick=True):  # … and is back three days and 7 hours later
        service = make_service(launcher)
        service.start()
        _wait_for(lambda: len(launcher.calls) >= 8)
        time.sleep(0.5)
        jobs = {job.id: job.next_run_time for job in service.scheduler.get_jobs()}
        service.shutdown()
    assert Counter(site for site, _ in launcher.calls) == {site: 1 for site in SHOPS + OTHERS}
    history = service.runs.history(limit=100)
    assert {row["scheduled_for"] for row in history} == {"2026-10-04T02:00:00+08:00"}
    assert set(jobs.values()) == {at("2026-10-05 02:00")}


def test_apschedulers_default_one_second_grace_would_have_dropped_it(make_service) -> None:
    with time_machine.travel(at("2026-10-01 01:00"), tick=True):
        first = make_service(FakeLauncher())
        first.start()
        first.shutdown()
    launcher = FakeLauncher()
    with time_machine.travel(at("2026-10-04 09:00"), tick=True):
        service = make_service(launcher, misfire_grace=1.0)
        service.start()
        time.sleep(1.5)
        service.shutdown()
    assert launcher.calls == []


def test_two_schedulers_on_one_store_never_run_a_job_twice(make_service) -> None:
    launchers = [FakeLauncher(), FakeLauncher()]
    with time_machine.travel(at("2026-10-10 01:59:58"), tick=True):
        services = [make_service(launcher) for launcher in launchers]
        for service in services:
            service.start()
        _wait_for(lambda: sum(len(launcher.calls) for launcher in launchers) >= 8)
        time.sleep(1.0)
        late = services[1].run_site("mall")  # the slower scheduler gets to the 02:00 run after the other
        for service in services:
            service.shutdown()
    runs = Counter(site for launcher in launchers for site, _ in launcher.calls)
    assert runs == {site: 1 for site in SHOPS + OTHERS}
    assert late.status == "duplicate"
    history = services[0].runs.history(limit=100)
    assert len(history) == 8 and {row["scheduled_for"] for row in history} == {"2026-10-10T02:00:00+08:00"}


# --- a real crawl that overruns: stopped cleanly, resumed next time ---------------------------------------


class BudgetFromSpiderOpen(CrawlLauncher):
    """Starts the run-time budget once the spider is open: a loaded machine may take long to load the rulebook."""

    def _wait(self, proc: subprocess.Popen[bytes], max_runtime: float) -> bool:
        logs = self.data_dir / "logs"
        deadline = time.monotonic() + 240
        while proc.poll() is None and time.monotonic() < deadline:
            if any("Spider opened" in log.read_text(errors="replace") for log in logs.glob("*.log")):
                break
            time.sleep(0.2)
        return super()._wait(proc, max_runtime)


@pytest.mark.timeout(900)
def test_an_overrunning_crawl_is_stopped_cleanly_and_resumes_next_time(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADWATCH_")}
    with SandboxWeb(port_base=None, slow_seconds=60) as web:  # the mall's slow page holds the crawl open
        env.update(ADWATCH_DATA_DIR=str(tmp_path), ADWATCH_BASE_URLS=json.dumps({"mall": web.base_urls["mall"]}))
        env.update(ADWATCH_INDEX_ENABLED="false", ADWATCH_EVIDENCE_ENABLED="false")  # only the crawl matters here
        launcher = BudgetFromSpiderOpen(tmp_path, kill_grace=60.0, env=env)
        stopped = launcher.run("mall", max_runtime=2.0)
        assert stopped.status == "timeout"
        assert stopped.finish_reason == "shutdown"  # Scrapy's graceful close, not a kill
        assert (tmp_path / "jobs" / "mall").is_dir()  # kept, to resume from
        for log in (tmp_path / "logs").glob("*.log"):
            log.unlink()
        resumed = launcher.run("mall", max_runtime=400.0)
    assert resumed.status == "ok", resumed.message
    assert resumed.finish_reason == "finished"
    assert not (tmp_path / "jobs" / "mall").exists()  # done: the next run starts afresh
    assert resumed.pages > 0


# --- a real crawl killed with SIGKILL: its job folder kept until a run crawls to the end ------------------


class KillWhenPagesDone(CrawlLauncher):
    """SIGKILLs the crawl once its frontier has ``pages_done`` pages done: to the scheduler, a crash."""

    def __init__(self, *args: object, pages_done: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.pages_done = pages_done

    def _wait(self, proc: subprocess.Popen[bytes], max_runtime: float) -> bool:
        kill_when_done(proc, self.data_dir / "jobs" / RESUMED_SITE, self.pages_done)
        return False


def test_a_job_folder_is_kept_until_a_run_crawls_to_the_end(web: SandboxWeb, tmp_path: Path) -> None:
    job_folder = tmp_path / "jobs" / RESUMED_SITE
    with local_server(QuietHandler) as unused:  # a free port, closed again: the site is down
        down = crawl_env(unused, tmp_path)
    nothing = CrawlLauncher(tmp_path, kill_grace=5.0, env=down).run(RESUMED_SITE, max_runtime=300)
    assert (nothing.status, nothing.finish_reason, nothing.pages) == ("ok", "finished", 0)
    assert job_folder.is_dir()  # "finished" having crawled nothing is no finished crawl

    up = crawl_env(web.base_urls[RESUMED_SITE], tmp_path)
    killed = KillWhenPagesDone(tmp_path, kill_grace=5.0, env=up, pages_done=15).run(RESUMED_SITE, max_runtime=300)
    assert (killed.status, killed.finish_reason) == ("failed", "")
    assert job_folder.is_dir()

    resumed = CrawlLauncher(tmp_path, kill_grace=5.0, env=up).run(RESUMED_SITE, max_runtime=300)
    assert (resumed.status, resumed.finish_reason) == ("ok", "finished")
    assert 0 < resumed.pages
    assert not job_folder.exists()  # crawled to the end: the next run starts afresh


# --- the CLI ------------------------------------------------------------------------------------------------


def schedule_cli(args: list[str], data_dir: Path, plan_dir: Path = PLAN_DIR) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADWATCH_")}
    env.update(ADWATCH_DATA_DIR=str(data_dir), ADWATCH_SCHEDULE_DIRS=json.dumps([str(plan_dir)]), COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-c", "from scheduler import schedule; schedule()", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The `schedule` commands in-process, with their settings pointed at ``tmp_path``."""
    import scheduler
    from crawler.config import project_settings

    plan_dirs = {"dirs": [str(PLAN_DIR)]}

    def settings(overrides: dict | None = None):
        ours = {"ADWATCH_DATA_DIR": str(tmp_path), "ADWATCH_DB_PATH": "", "ADWATCH_SCHEDULE_DIRS": plan_dirs["dirs"]}
        return project_settings({**ours, **(overrides or {})})

    monkeypatch.setattr(scheduler, "project_settings", settings)
    monkeypatch.setattr(scheduler, "out_console", Console(width=200, force_terminal=False))

    def invoke(args: list[str], plan_dir: Path = PLAN_DIR) -> Result:
        plan_dirs["dirs"] = [str(plan_dir)]
        return CliRunner().invoke(scheduler.schedule, args)

    return invoke


def test_cli_validate_smoke_in_a_real_process(tmp_path: Path) -> None:
    valid = schedule_cli(["validate"], tmp_path)
    assert valid.returncode == 0, valid.stderr
    assert "double11-surge" in valid.stdout and "计划有效" in valid.stdout


def test_cli_list_pause_resume_history(cli) -> None:
    listed = cli(["list", "--days", "1"])
    assert listed.exit_code == 0, listed.output
    assert "crawl:mall" in listed.output and "未来 1 天" in listed.output
    paused = cli(["pause", "mall"])
    assert paused.exit_code == 0 and "已暂停" in paused.output
    assert "已恢复" in cli(["resume", "mall"]).output
    missing = cli(["pause", "nosuch"])
    assert missing.exit_code != 0 and "no job for site" in missing.output
    history = cli(["history", "--json"])
    assert history.exit_code == 0 and history.output == ""


def test_cli_validate_reports_every_error_and_add_keeps_plans_valid(cli, tmp_path: Path) -> None:
    plan_dir = _write_plans(tmp_path / "plans", "plans:\n  - {id: nightly, sites: [mal], cron: '0 25 * * *'}\n")
    invalid = cli(["validate"], plan_dir)
    assert invalid.exit_code != 0
    assert "unknown site 'mal'" in invalid.output and "bad cron" in invalid.output
    plan_dir = _write_plans(tmp_path / "ok", "plans:\n  - {id: nightly, sites: [news], cron: '0 3 * * *'}\n")
    added = cli(["add", "singles-day", "--site", "mall", "--interval", "1h", "--priority", "5",
                 "--window", "d11=11-10..11-11", "--file", "plans.yaml"], plan_dir)  # fmt: skip
    assert added.exit_code == 0, added.output
    clash = cli(["add", "clash", "--site", "mall", "--interval", "3h", "--priority", "5",
                 "--window", "d11", "--file", "plans.yaml"], plan_dir)  # fmt: skip
    assert clash.exit_code != 0 and "overlaps plan 'singles-day'" in clash.output
    plans = load_plans([plan_dir], KNOWN, TZ)
    assert [p.id for p in plans.plans] == ["nightly", "singles-day"]


# --- plans a section chief can read, edits followed without a restart (#16, item 2) --------------------------

SURGE_HOSPITAL = """windows:
  双十一: {start: "11-01", end: "11-12"}
plans:
  - {id: 每日, sites: [hospital, news], cron: "0 9 * * *"}
  - {id: 双十一医院, sites: [hospital], windows: [双十一], interval: 2h, priority: 10}
"""

PLAIN_CHINESE = [
    ("0 9 * * *", "每天 09:00"),
    ("30 9,21 * * *", "每天 09:30、21:30"),
    ("0 9 * * mon", "每周一 09:00"),
    ("0 8 * * mon-fri", "每周一至周五 08:00"),
    ("0 */4 * * *", "每 4 小时（整点）"),
    ("15 * * * *", "每小时（15 分）"),
    ("*/10 * * * *", "每 10 分钟"),
    ("0 8 1,15 * *", "每月 1、15 日 08:00"),
    ("0 2 * 11 *", "按 cron「0 2 * 11 *」"),
]


@pytest.mark.parametrize(("cron", "plain"), PLAIN_CHINESE, ids=[cron for cron, _ in PLAIN_CHINESE])
def test_cron_plans_read_in_plain_chinese(cron: str, plain: str) -> None:
    assert describe_cron(cron) == plain


def test_plan_ids_may_be_chinese_and_windowed_plans_read_with_their_window(tmp_path: Path) -> None:
    plans = load_plans([_write_plans(tmp_path, SURGE_HOSPITAL)], KNOWN, TZ)
    described = {plan.id: plan.describe() for plan in plans.plans}
    assert described == {"每日": "每天 09:00", "双十一医院": "双十一期间 11-01 至 11-12 每 2 小时"}
    assert {plan.describe() for plan in sandbox_plans().plans} == {
        "每天 02:00", "双十一期间 10-20 至 11-12 每 2 小时", "618 年中大促期间 05-25 至 06-20 每 4 小时（整点）"}
    assert plans.trigger("hospital").plan_at(at("2026-11-05 10:00")).id == "双十一医院"


def test_plan_errors_are_in_chinese_beside_english(tmp_path: Path) -> None:
    text = ("plans:\n  - {id: 'a b', sites: [mall], cron: '0 2 * * 1', extra: 1}\n"
            "  - {id: x, sites: [mal], interval: 2h}\n")
    with pytest.raises(PlanError) as caught:
        load_plans([_write_plans(tmp_path, text)], KNOWN, TZ)
    message = str(caught.value)
    for chinese in ("计划文件有误", "计划编号只能用汉字", "星期请写 mon–sun", "不支持的字段", "未知站点",
                    "是否指 mall"):
        assert chinese in message


def test_the_service_follows_edited_plan_files_and_keeps_the_last_valid_plans(make_service, tmp_path: Path) -> None:
    plan_dir = _write_plans(tmp_path / "plans", SURGE_HOSPITAL)
    with time_machine.travel(at("2026-10-30 12:00")):
        service = make_service(FakeLauncher(), plan_dirs=[plan_dir])
        service.plans = load_plans([plan_dir], KNOWN, TZ)
        service.triggers = service.plans.triggers()
        service.start(paused=True)
        assert service.scheduler.get_job("crawl:news").next_run_time == at("2026-10-31 09:00")
        assert service.reload_plans() is False  # unchanged files

        _write_plans(plan_dir, SURGE_HOSPITAL.replace("0 9 * * *", "30 6 * * *"))
        assert service.reload_plans() is True
        assert service.scheduler.get_job("crawl:news").next_run_time == at("2026-10-31 06:30")
        assert service.scheduler.get_job("crawl:hospital").next_run_time == at("2026-10-31 06:30")

        _write_plans(plan_dir, SURGE_HOSPITAL.replace("0 9 * * *", "0 9 * * 1"))
        assert service.reload_plans() is False
        assert service.scheduler.get_job("crawl:news").next_run_time == at("2026-10-31 06:30")
        state = service.runs.service_state()
        assert state is not None and "星期请写 mon–sun" in state["plans_error"]


def test_history_counts_new_and_pending_hits_apart_in_80_columns(cli, tmp_path: Path, monkeypatch) -> None:
    runs = RunStore(make_engine(f"sqlite:///{tmp_path / 'adwatch.db'}"))
    for hour, (site, plan) in enumerate((("healthfood", "双十一医院"), ("pharmacy", "double11-surge"), ("mall", ""))):
        start = at(f"2026-11-11 0{hour + 2}:00")
        run_id = runs.claim_run({"job_id": f"crawl:{site}", "site": site, "plan_id": plan, "owner": "test",
                                 "kind": "scheduled" if plan else "manual", "status": "running",
                                 "scheduled_for": start.isoformat(), "started_at": start.isoformat()})
        runs.finish_run(run_id, CrawlOutcome("ok", "finished", pages=1234, ads=1100, hits=0, pending=49, errors=3),
                        start + timedelta(minutes=12, seconds=5))
    monkeypatch.setattr(scheduler_module, "out_console", Console(width=80, force_terminal=False))
    history = cli(["history"])
    assert history.exit_code == 0, history.output
    lines = history.output.splitlines()
    assert max(cell_len(line) for line in lines) <= 80
    header = next(line for line in lines if "站点" in line)
    assert header.split() == ["站点", "计划", "开始", "用时", "状态", "页面", "广告", "新命中", "待审", "错误"]
    mall = next(line for line in lines if line.strip().startswith("mall"))
    assert mall.split() == ["mall", "手动", "11-11", "04:00", "12m05s", "完成", "1234", "1100", "0", "49", "3"]
    assert "pending: the site's" in history.output.replace("\n", " ")


def test_a_store_from_before_pending_gets_the_column(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "old.db") as conn:
        conn.execute("CREATE TABLE schedule_runs (id INTEGER PRIMARY KEY, job_id TEXT NOT NULL, site TEXT NOT NULL, "
                     "plan_id TEXT NOT NULL, kind TEXT NOT NULL, scheduled_for TEXT NOT NULL, started_at TEXT NOT "
                     "NULL, finished_at TEXT, status TEXT NOT NULL, finish_reason TEXT NOT NULL DEFAULT '', pages "
                     "INTEGER NOT NULL DEFAULT 0, ads INTEGER NOT NULL DEFAULT 0, hits INTEGER NOT NULL DEFAULT 0, "
                     "errors INTEGER NOT NULL DEFAULT 0, owner TEXT NOT NULL, message TEXT NOT NULL DEFAULT '')")
        conn.execute("INSERT INTO schedule_runs(job_id, site, plan_id, kind, scheduled_for, started_at, status, owner)"
                     " VALUES ('crawl:mall', 'mall', 'daily', 'scheduled', 'x', 'x', 'ok', 'old')")
    runs = RunStore(make_engine(f"sqlite:///{tmp_path / 'old.db'}"))
    assert [(row["site"], row["pending"]) for row in runs.history()] == [("mall", 0)]

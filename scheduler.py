"""The crawl scheduler: ``adwatch schedule run`` crawls every planned site by itself, once, on time.

One long-running service per deployment.  It reads the plans (``crawler/plans.py``),
keeps one APScheduler job per site (id ``crawl:<site>``) in a persistent job store
(SQLite in the AdWatch store by default, or any SQLAlchemy URL such as PostgreSQL),
and runs each crawl in its own process (Scrapy's reactor runs once per process).

Guarantees:

* a machine that was down runs a missed crawl once when it is back, not once per
  missed time and not never: jobs coalesce, and the misfire grace is a day, not
  APScheduler's one second;
* at most one crawl per site at a time: ``max_instances=1`` in this process, and a
  lease row (owner, expiry) taken atomically in the store across processes;
* no scheduled run twice, even with two schedulers on one store: each run claims
  its (job, scheduled time) row in ``schedule_runs`` before it starts;
* a crawl that exceeds its plan's ``max_runtime`` is stopped cleanly (SIGINT, then
  SIGTERM, then SIGKILL) and resumes next time from its ``JOBDIR``; so does a crawl
  killed outright (``kill -9``, a crash, a reboot), losing no ad: the job folder holds
  a frontier that every write keeps current (crawler/frontier.py), and it is removed
  only after a run that crawled to the end.

With a fleet URL set (``ADWATCH_FLEET_URL``), a run crawls nothing here: it queues the site's
crawl on the fleet's Redis for its workers (``FleetLauncher``), recorded as ``queued``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import click
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from rich import box
from rich.console import Console
from rich.table import Table
from scrapy.settings import BaseSettings
from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy import (
    Table as SqlTable,
)
from sqlalchemy.exc import IntegrityError

from crawler.config import PROJECT_ROOT, AdWatchConfig, project_settings
from crawler.exceptions import AdWatchError, ScheduleError
from crawler.plans import (
    Plan,
    PlanEdit,
    PlanSet,
    SiteTrigger,
    load_plans,
    plans_fingerprint,
    save_plan,
    window_spec,
)

logger = logging.getLogger(__name__)
out_console = Console()
err_console = Console(stderr=True)

JOB_PREFIX = "crawl:"
# finish_reason of a crawl stopped before Scrapy started (its JOBDIR, if any, is kept).
INTERRUPTED_AT_START = "interrupted-at-start"
Clock = Callable[[], datetime]


# --- settings --------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleConfig:
    """The ADWATCH_SCHEDULE_* settings, read once."""

    enabled: bool
    db_url: str
    plan_dirs: list[Path]
    timezone: tzinfo
    misfire_grace: float
    max_runtime: float
    kill_grace: float
    poll_seconds: float
    workers: int
    data_dir: Path
    #: ADWATCH_FLEET_URL: when set, a run hands the site's crawl to the fleet on this Redis instead of crawling here.
    fleet_url: str = ""

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> ScheduleConfig:
        store = AdWatchConfig.from_settings(settings)
        db_url = settings.get("ADWATCH_SCHEDULE_DB_URL") or f"sqlite:///{store.db_path.resolve()}"
        try:
            timezone = ZoneInfo(settings.get("ADWATCH_SCHEDULE_TIMEZONE"))
        except (KeyError, ValueError) as exc:
            raise ScheduleError(f"ADWATCH_SCHEDULE_TIMEZONE: 未知时区 unknown time zone ({exc})") from None
        config = cls(
            enabled=settings.getbool("ADWATCH_SCHEDULE_ENABLED"),
            db_url=db_url,
            plan_dirs=[_project_path(d) for d in settings.getlist("ADWATCH_SCHEDULE_DIRS")],
            timezone=timezone,
            misfire_grace=settings.getfloat("ADWATCH_SCHEDULE_MISFIRE_GRACE"),
            max_runtime=settings.getfloat("ADWATCH_SCHEDULE_MAX_RUNTIME"),
            kill_grace=settings.getfloat("ADWATCH_SCHEDULE_KILL_GRACE"),
            poll_seconds=settings.getfloat("ADWATCH_SCHEDULE_POLL_SECONDS"),
            workers=settings.getint("ADWATCH_SCHEDULE_WORKERS"),
            data_dir=store.data_dir,
            fleet_url=settings.get("ADWATCH_FLEET_URL") or "",
        )
        config.check()
        return config

    def check(self) -> None:
        for name, value in (
            ("MISFIRE_GRACE", self.misfire_grace),
            ("MAX_RUNTIME", self.max_runtime),
            ("POLL_SECONDS", self.poll_seconds),
            ("WORKERS", self.workers),
        ):
            if value <= 0:
                raise ScheduleError(f"ADWATCH_SCHEDULE_{name} 须大于零 must be positive, got {value}")
        if self.kill_grace < 0:
            raise ScheduleError(f"ADWATCH_SCHEDULE_KILL_GRACE 不能为负 must not be negative, got {self.kill_grace}")


def _project_path(value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else PROJECT_ROOT / path


def known_sites() -> dict[str, str]:
    """Every site profile: name → profile group."""
    from crawler.spiderloader import ProfileSpiderLoader

    loader = ProfileSpiderLoader(project_settings())
    return {name: loader.profiles[name].group for name in loader.list()}


def make_engine(db_url: str) -> Engine:
    """An engine for the job store and the run history; SQLite waits for a busy file instead of failing."""
    if not db_url.startswith("sqlite:///"):
        return create_engine(db_url, pool_pre_ping=True)
    Path(db_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(db_url, connect_args={"timeout": 30, "check_same_thread": False})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(connection: Any, record: Any) -> None:
    """WAL like the AdWatch store (readers never wait for the scheduler), and no fsync per history row."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# --- run history and leases --------------------------------------------------------

METADATA = MetaData()
RUNS = SqlTable(
    "schedule_runs",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Text, nullable=False),
    Column("site", Text, nullable=False),
    Column("plan_id", Text, nullable=False),
    Column("kind", Text, nullable=False),  # scheduled | manual
    Column("scheduled_for", Text, nullable=False),
    Column("started_at", Text, nullable=False),
    Column("finished_at", Text),
    Column("status", Text, nullable=False),  # running | ok | timeout | failed | skipped | interrupted
    Column("finish_reason", Text, nullable=False, default=""),
    Column("pages", Integer, nullable=False, default=0),
    Column("ads", Integer, nullable=False, default=0),
    Column("hits", Integer, nullable=False, default=0),
    Column("pending", Integer, nullable=False, default=0),  # the site's hits awaiting review when the run ended
    Column("errors", Integer, nullable=False, default=0),
    Column("owner", Text, nullable=False),
    Column("message", Text, nullable=False, default=""),
    UniqueConstraint("job_id", "scheduled_for", name="schedule_runs_once"),
)
#: One row per running scheduler service: its heartbeat and the plan files it follows (the console shows both).
SERVICES = SqlTable(
    "schedule_services",
    METADATA,
    Column("owner", Text, primary_key=True),
    Column("started_at", Text, nullable=False, default=""),
    Column("seen_at", Float, nullable=False),
    Column("plans_fingerprint", Text, nullable=False, default=""),
    Column("plans_loaded_at", Text, nullable=False, default=""),
    Column("plans_error", Text, nullable=False, default=""),
)
#: Columns of ``schedule_runs`` added after stores were first created, with their definitions.
ADDED_RUN_COLUMNS = {"pending": "INTEGER NOT NULL DEFAULT 0"}
LEASES = SqlTable(
    "schedule_leases",
    METADATA,
    Column("job_id", Text, primary_key=True),
    Column("owner", Text, nullable=False),
    Column("acquired_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)


@dataclass
class CrawlOutcome:
    status: str  # ok | timeout | failed | interrupted
    finish_reason: str = ""
    pages: int = 0
    ads: int = 0
    hits: int = 0
    pending: int = 0
    errors: int = 0
    message: str = ""


class RunStore:
    """``schedule_runs`` (one row per run, unique per job and scheduled time) and ``schedule_leases``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        METADATA.create_all(engine)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        """Columns added since a job store was created (``pending``): added in place, old rows get 0."""
        present = {column["name"] for column in inspect(self.engine).get_columns(RUNS.name)}
        with self.engine.begin() as conn:
            for name, definition in ADDED_RUN_COLUMNS.items():
                if name not in present:
                    conn.execute(text(f"ALTER TABLE {RUNS.name} ADD COLUMN {name} {definition}"))

    def acquire_lease(self, job_id: str, owner: str, now: datetime, ttl: float) -> bool:
        """Take the job's lease unless another owner holds an unexpired one; atomic in SQLite and PostgreSQL."""
        stamp = now.timestamp()
        values = {"job_id": job_id, "owner": owner, "acquired_at": stamp, "expires_at": stamp + ttl}
        statement = self._upsert(values, where=LEASES.c.expires_at <= stamp)
        with self.engine.begin() as conn:
            conn.execute(statement)
            holder = conn.execute(select(LEASES.c.owner).where(LEASES.c.job_id == job_id)).scalar()
        return holder == owner

    def _upsert(self, values: dict[str, Any], where: Any) -> Any:
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        statement = dialect_insert(LEASES).values(**values)
        changes = {key: statement.excluded[key] for key in ("owner", "acquired_at", "expires_at")}
        return statement.on_conflict_do_update(index_elements=[LEASES.c.job_id], set_=changes, where=where)

    def release_lease(self, job_id: str, owner: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(LEASES).where(LEASES.c.job_id == job_id, LEASES.c.owner == owner))

    def claim_run(self, row: dict[str, Any]) -> int | None:
        """Insert the run's row; ``None`` if this job's run for that scheduled time exists already."""
        try:
            with self.engine.begin() as conn:
                return conn.execute(insert(RUNS).values(**row)).inserted_primary_key[0]
        except IntegrityError:
            return None

    def finish_run(self, run_id: int, outcome: CrawlOutcome, finished_at: datetime) -> None:
        values = {
            "finished_at": finished_at.isoformat(timespec="seconds"),
            "status": outcome.status,
            "finish_reason": outcome.finish_reason,
            "pages": outcome.pages,
            "ads": outcome.ads,
            "hits": outcome.hits,
            "pending": outcome.pending,
            "errors": outcome.errors,
            "message": outcome.message[:2000],
        }
        with self.engine.begin() as conn:
            conn.execute(update(RUNS).where(RUNS.c.id == run_id).values(**values))

    def record_service(self, owner: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            if conn.execute(update(SERVICES).where(SERVICES.c.owner == owner).values(**values)).rowcount == 0:
                conn.execute(insert(SERVICES).values(owner=owner, **values))

    def forget_service(self, owner: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(SERVICES).where(SERVICES.c.owner == owner))

    def service_state(self) -> dict[str, Any] | None:
        """The scheduler service heard from last, if any."""
        with self.engine.begin() as conn:
            row = conn.execute(select(SERVICES).order_by(SERVICES.c.seen_at.desc()).limit(1)).first()
        return dict(row._mapping) if row else None

    def history(self, site: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        query = select(RUNS).order_by(RUNS.c.scheduled_for.desc(), RUNS.c.id.desc()).limit(limit)
        if site:
            query = query.where(RUNS.c.site == site)
        with self.engine.begin() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]


# --- running one crawl ---------------------------------------------------------------


class Launcher(Protocol):
    def run(self, site: str, max_runtime: float) -> CrawlOutcome: ...

    def stop_all(self) -> None: ...


class CrawlLauncher:
    """Runs ``python -m scheduler crawl-one SITE`` and stops it cleanly when it overruns.

    Each site keeps a ``JOBDIR`` under ``<data dir>/jobs/<site>``: removed once a crawl
    really finished (finish reason ``finished`` with pages crawled), so the next run
    starts afresh; kept otherwise (stopped, killed, crashed, closed early, or a site
    that answered nothing), so the next run resumes where this one got to.
    """

    def __init__(self, data_dir: Path, kill_grace: float, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.kill_grace = kill_grace
        self.env = env
        self._running: dict[str, subprocess.Popen[bytes]] = {}
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    def _environment(self) -> dict[str, str]:
        env = dict(self.env if self.env is not None else os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH", "")]))
        return env

    def run(self, site: str, max_runtime: float) -> CrawlOutcome:
        jobdir = self.data_dir / "jobs" / site
        result = self.data_dir / "jobs" / f"{site}.result.json"
        result.unlink(missing_ok=True)
        log = self.data_dir / "logs" / f"schedule-{site}-{datetime.now():%Y%m%d-%H%M%S}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "scheduler",
            "crawl-one",
            site,
            "--jobdir",
            str(jobdir),
            "--result",
            str(result),
            "--log-file",
            str(log),
        ]
        with log.open("ab") as output:
            proc = subprocess.Popen(
                command,
                env=self._environment(),
                stdout=output,
                stderr=output,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            with self._lock:
                self._running[site] = proc
            try:
                timed_out = self._wait(proc, max_runtime)
            finally:
                with self._lock:
                    self._running.pop(site, None)
        return self._outcome(proc.returncode, timed_out, result, jobdir, log)

    def _wait(self, proc: subprocess.Popen[bytes], max_runtime: float) -> bool:
        try:
            proc.wait(timeout=max_runtime)
            return False
        except subprocess.TimeoutExpired:
            logger.warning("抓取超时，正在停止 crawl pid %d overran its %.0f s; stopping it", proc.pid, max_runtime)
            self.stop(proc)
            return True

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGINT (Scrapy closes gracefully and keeps its JOBDIR), then SIGTERM, then SIGKILL."""
        for sig, grace in ((signal.SIGINT, self.kill_grace), (signal.SIGTERM, self.kill_grace / 2 or 1.0)):
            if proc.poll() is not None:
                return
            proc.send_signal(sig)
            try:
                proc.wait(timeout=grace)
                return
            except subprocess.TimeoutExpired:
                continue
        proc.kill()
        proc.wait()

    def stop_all(self) -> None:
        self._stopping.set()
        with self._lock:
            running = list(self._running.values())
        threads = [threading.Thread(target=self.stop, args=(proc,)) for proc in running]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _outcome(self, code: int, timed_out: bool, result: Path, jobdir: Path, log: Path) -> CrawlOutcome:
        figures = json.loads(result.read_text(encoding="utf-8")) if result.exists() else {}
        reason = figures.get("finish_reason", "")
        if crawled_to_the_end(figures):
            shutil.rmtree(jobdir, ignore_errors=True)  # the next run starts afresh
        if timed_out:
            status = "timeout"
        elif self._stopping.is_set():
            status = "interrupted"
        else:
            status = "ok" if code == 0 and figures else "failed"
        message = "" if status == "ok" else f"退出码 exit code {code}; 日志 log {log}"
        fields = {k: figures.get(k, 0) for k in ("pages", "ads", "hits", "pending", "errors")}
        return CrawlOutcome(status, reason, message=message, **fields)


class FleetLauncher:
    """Hands a site's crawl to the fleet (``ADWATCH_FLEET_URL``): its start is queued on Redis for the workers,
    nothing is crawled here, and the run is recorded as ``queued`` (``adwatch fleet status`` follows it)."""

    def __init__(self, url: str) -> None:
        from crawler.fleet.config import FleetConfig

        self.config = FleetConfig.from_settings(project_settings({"ADWATCH_FLEET_URL": url}))  # a bad URL stops here

    def run(self, site: str, max_runtime: float) -> CrawlOutcome:
        import redis

        from crawler.fleet.queue import FleetQueue, connect

        try:
            FleetQueue(self.config, connect(self.config.url, retries=3)).start_crawl(site)
        except redis.RedisError as exc:
            return CrawlOutcome("failed", message=f"无法连接抓取集群 cannot reach the fleet's Redis: {exc}")
        return CrawlOutcome("queued", finish_reason="fleet", message="已交给抓取集群 handed to the fleet")

    def stop_all(self) -> None:
        """Nothing runs here: the fleet's workers go on with what they leased."""


def make_launcher(config: ScheduleConfig) -> Launcher:
    """The fleet's launcher when a fleet URL is set, else a crawl process per run on this machine."""
    if config.fleet_url:
        return FleetLauncher(config.fleet_url)
    return CrawlLauncher(config.data_dir, config.kill_grace)


def crawled_to_the_end(figures: dict[str, Any]) -> bool:
    """Whether a crawl's figures show it ran out of pages to crawl, rather than stopping, dying or crawling nothing.

    A run that ends "finished" having fetched no page (its site down, say) proves nothing
    about the frontier: its job folder stays for the next run.
    """
    return figures.get("finish_reason") == "finished" and int(figures.get("pages", 0)) > 0


def crawl_one(site: str, jobdir: Path, result: Path, log_file: Path) -> int:
    """The child process: crawl one site with a JOBDIR and write its figures as JSON."""
    from crawler.run import crawl_sites

    overrides = {"JOBDIR": str(jobdir), "LOG_FILE": str(log_file), "LOG_FILE_APPEND": True}
    try:
        [outcome] = crawl_sites([site], overrides)
    except KeyboardInterrupt:  # stopped while still loading the rulebook, before Scrapy took over the signals
        _write_result(result, {"site": site, "finish_reason": INTERRUPTED_AT_START})
        return 1
    stats = outcome.stats
    figures = {
        "site": site,
        "finish_reason": outcome.finish_reason,
        "pages": outcome.pages,
        "ads": outcome.items,
        "hits": int(stats.get("store/hits", 0)) + int(stats.get("price/hits", 0)),
        "pending": pending_hits(site),
        "errors": outcome.errors,
    }
    _write_result(result, figures)
    return 0


def pending_hits(site: str) -> int:
    """The site's hits awaiting review now, on its ads' current versions: a re-crawl finds few new hits while
    many still wait, and the history shows both."""
    from indexer.sqlite import SqliteStore

    with SqliteStore(AdWatchConfig.from_settings(project_settings()).db_path) as store:
        return store.conn.execute(
            """SELECT count(*) FROM hits h JOIN ads a ON a.current_version = h.version_id
               WHERE h.site = ? AND h.review_status = 'pending'""", (site,)).fetchone()[0]


def _write_result(result: Path, figures: dict[str, Any]) -> None:
    result.parent.mkdir(parents=True, exist_ok=True)
    result.write_text(json.dumps(figures, ensure_ascii=False), encoding="utf-8")


# --- the service -----------------------------------------------------------------------

_bound = threading.local()


def _bind(service: CrawlService) -> None:
    """Executor-thread initializer: jobs run by this thread belong to ``service``."""
    _bound.service = service


def run_scheduled_crawl(site: str) -> None:
    """The job function stored (by reference) in the job store."""
    service: CrawlService | None = getattr(_bound, "service", None)
    if service is None:
        raise ScheduleError(f"抓取任务须在调度服务线程中运行 crawl job for {site!r} ran outside a scheduler service "
                            "thread")
    service.run_site(site)


@dataclass
class RunRecord:
    run_id: int | None
    site: str
    scheduled_for: datetime
    status: str
    outcome: CrawlOutcome | None = None


@dataclass
class CrawlService:
    """The APScheduler scheduler, the plans, the run store and the launcher, wired together."""

    config: ScheduleConfig
    plans: PlanSet
    launcher: Launcher
    engine: Engine | None = None
    clock: Clock | None = None
    owner: str = field(default_factory=lambda: f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:6]}")

    def __post_init__(self) -> None:
        self.engine = self.engine or make_engine(self.config.db_url)
        self.runs = RunStore(self.engine)
        self.triggers: dict[str, SiteTrigger] = self.plans.triggers()
        self.fingerprint = plans_fingerprint(self.config.plan_dirs)
        #: Set once ``serve`` has started the scheduler and recorded itself for the console.
        self.serving = threading.Event()
        self.scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self.engine)},
            executors={
                "default": ThreadPoolExecutor(
                    self.config.workers, pool_kwargs={"initializer": _bind, "initargs": (self,)}
                )
            },
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": self._grace},
            timezone=self.config.timezone,
        )

    @property
    def _grace(self) -> int:
        return int(self.config.misfire_grace)

    def now(self) -> datetime:
        return (self.clock or (lambda: datetime.now(self.config.timezone)))().astimezone(self.config.timezone)

    # lifecycle

    def start(self, paused: bool = False) -> None:
        """Start with jobs matching the plans; a paused start processes no job (for the CLI's edits)."""
        self.scheduler.start(paused=True)
        self.sync_jobs()
        if not paused:
            self.scheduler.resume()

    def shutdown(self) -> None:
        self.launcher.stop_all()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)

    def sync_jobs(self) -> None:
        """One job per planned site; a changed plan keeps the job's next run (a missed run still runs)."""
        for site, trigger in self.triggers.items():
            job_id = JOB_PREFIX + site
            job = self.scheduler.get_job(job_id)
            if job is None:
                try:
                    self.scheduler.add_job(
                        run_scheduled_crawl, trigger=trigger, args=[site], id=job_id, name=f"crawl {site}"
                    )
                except ConflictingIdError:  # another scheduler added it just now
                    pass
            elif job.trigger != trigger or job.misfire_grace_time != self._grace:
                self.scheduler.modify_job(job_id, **self._changes(job, trigger))
        for job in self.scheduler.get_jobs():
            if job.id.startswith(JOB_PREFIX) and job.id.removeprefix(JOB_PREFIX) not in self.triggers:
                self.scheduler.remove_job(job.id)

    def _changes(self, job: Any, trigger: SiteTrigger) -> dict[str, Any]:
        """A job's new trigger; its next run follows the new plan unless it is paused or already due (missed)."""
        changes: dict[str, Any] = {"trigger": trigger, "misfire_grace_time": self._grace}
        now = self.now()
        if job.trigger != trigger and job.next_run_time is not None and job.next_run_time > now:
            changes["next_run_time"] = trigger.get_next_fire_time(None, now)
        return changes

    def reload_plans(self) -> bool:
        """Follow the plan files if they changed since they were read and are valid; True if the plans changed.

        Invalid files are logged and recorded for the console, and the plans read before stay in force.
        """
        fingerprint = plans_fingerprint(self.config.plan_dirs)
        if fingerprint == self.fingerprint:
            return False
        self.fingerprint = fingerprint
        try:
            plans = load_plans(self.config.plan_dirs, known_sites(), self.config.timezone)
        except AdWatchError as exc:
            logger.error("计划文件有误，仍按上一版计划运行 plans invalid, the last valid plans stay in force: %s", exc)
            self._record(plans_error=str(exc))
            return False
        self.plans, self.triggers = plans, plans.triggers()
        self.sync_jobs()
        logger.info("已载入新计划 plans reloaded: %d 个计划 plans, %d 个站点 sites", len(plans.plans),
                    len(self.triggers))
        self._record(plans_loaded_at=self.now().isoformat(timespec="seconds"), plans_error="")
        return True

    def _record(self, **values: Any) -> None:
        self.runs.record_service(self.owner, seen_at=self.now().timestamp(), plans_fingerprint=self.fingerprint,
                                 **values)

    # running

    def run_site(self, site: str, kind: str = "scheduled") -> RunRecord:
        """Run the site's crawl now, for the latest scheduled time (or for now, if ``kind`` is manual).

        The run first claims its (job, scheduled time) row, so no scheduler runs it again, then takes
        the site's lease, so it never overlaps another run of the site; busy, it is recorded as skipped.
        """
        trigger = self.triggers.get(site)
        if trigger is None and kind == "scheduled":
            raise ScheduleError(f"站点未列入计划 site {site!r} is in no plan")
        now = self.now()
        scheduled_for = (trigger.latest_fire(now) if trigger and kind == "scheduled" else None) or now
        plan = trigger.plan_at(scheduled_for) if trigger else None
        return self._run_leased(site, kind, scheduled_for, plan)

    def _run_leased(self, site: str, kind: str, scheduled_for: datetime, plan: Plan | None) -> RunRecord:
        """Claim the (job, scheduled time) row, take the site's lease, crawl; if busy, record the run skipped."""
        now = self.now()
        max_runtime = plan.max_runtime if plan and plan.max_runtime else self.config.max_runtime
        row = {
            "job_id": JOB_PREFIX + site,
            "site": site,
            "plan_id": plan.id if plan else "",
            "kind": kind,
            "scheduled_for": scheduled_for.isoformat(timespec="seconds"),
            "started_at": now.isoformat(timespec="seconds"),
            "status": "running",
            "owner": self.owner,
        }
        run_id = self.runs.claim_run(row)
        if run_id is None:
            logger.info("未重复运行 not running %s for %s: that run happened already", site, scheduled_for)
            return RunRecord(None, site, scheduled_for, "duplicate")
        with self._lease(row["job_id"], now, max_runtime) as held:
            if not held:
                skipped = CrawlOutcome("skipped", message="站点正在抓取 busy: another run of this site holds the lease")
                self.runs.finish_run(run_id, skipped, now)
                logger.warning("已跳过 skipped %s at %s: another run of it is in progress", site, scheduled_for)
                return RunRecord(run_id, site, scheduled_for, "skipped", skipped)
            outcome = self.launcher.run(site, max_runtime)
            self.runs.finish_run(run_id, outcome, self.now())
            return RunRecord(run_id, site, scheduled_for, outcome.status, outcome)

    @contextmanager
    def _lease(self, job_id: str, now: datetime, max_runtime: float) -> Iterator[bool]:
        owner = f"{self.owner}/{uuid.uuid4().hex[:8]}"
        ttl = max_runtime + 2 * self.config.kill_grace + 60
        held = self.runs.acquire_lease(job_id, owner, now, ttl)
        try:
            yield held
        finally:
            if held:
                self.runs.release_lease(job_id, owner)

    def serve(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set, waking every poll interval to see what other commands changed: the job store
        (paused, resumed jobs) and the plan files (edited plans are followed without a restart)."""
        self.start()
        started = self.now().isoformat(timespec="seconds")
        self._record(started_at=started, plans_loaded_at=started, plans_error="")
        self.serving.set()
        try:
            while not stop.wait(self.config.poll_seconds):
                if not self.reload_plans():
                    self._record()
                self.scheduler.wakeup()
        finally:
            self.runs.forget_service(self.owner)
            self.shutdown()


# --- building from settings ----------------------------------------------------------


def load_config_and_plans() -> tuple[ScheduleConfig, PlanSet]:
    config = ScheduleConfig.from_settings(project_settings())
    return config, load_plans(config.plan_dirs, known_sites(), config.timezone)


def _service() -> CrawlService:
    config, plans = load_config_and_plans()
    return CrawlService(config, plans, make_launcher(config))


@contextmanager
def _editing() -> Iterator[CrawlService]:
    """A paused scheduler on the job store, for the commands that look at or change jobs."""
    service = _service()
    service.start(paused=True)
    try:
        yield service
    finally:
        service.scheduler.shutdown(wait=False)


@contextmanager
def job_store(engine: Engine, timezone: tzinfo) -> Iterator[BackgroundScheduler]:
    """The jobs as the running service keeps them, through a scheduler that runs nothing and changes no plan: for
    the console to read next runs and to pause or resume a site (the service sees it at its next poll)."""
    scheduler = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(engine=engine)}, timezone=timezone)
    scheduler.start(paused=True)
    try:
        yield scheduler
    finally:
        scheduler.shutdown(wait=False)


def _local(moment: datetime | None, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else "—（已暂停 paused）"


# --- the CLI ---------------------------------------------------------------------------


class _ScheduleGroup(click.Group):
    """Turns AdWatch's errors (bad plans, an unreachable job store) into one readable line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AdWatchError as exc:
            raise click.ClickException(str(exc)) from None


@click.group("schedule", cls=_ScheduleGroup)
def schedule() -> None:
    """定时抓取：按计划（含双十一、618 高峰）自动抓取。 Scheduled crawls from the plan files."""


@schedule.command("run")
def run_command() -> None:
    """运行调度服务直到 Ctrl-C（每个部署只运行一个）。 Run the scheduler service until Ctrl-C (one per deployment)."""
    service = _service()
    if not service.config.enabled:
        raise click.ClickException("调度已关闭 scheduling is off (ADWATCH_SCHEDULE_ENABLED)")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    err_console.print(
        f"调度服务已启动 scheduler up: {len(service.triggers)} 个站点 sites, "
        f"时区 timezone {service.config.timezone}, 任务库 job store {_safe_url(service.config.db_url)}"
    )
    service.serve(stop)
    err_console.print("调度服务已停止 scheduler stopped")


def _safe_url(url: str) -> str:
    """The URL without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@schedule.command("list")
@click.option("--days", type=int, default=0, help="另列出未来 N 天的抓取 / also list the crawls due in the next N days")
def list_command(days: int) -> None:
    """列出各站点的任务与下次运行时间。 List each site's job and its next run."""
    with _editing() as service:
        tz = service.config.timezone
        table = Table(title="定时任务 scheduled jobs")
        for column in ("任务 job", "计划 plans", "下次运行 next run"):
            table.add_column(column, overflow="fold")
        for job in sorted(service.scheduler.get_jobs(), key=lambda j: j.id):
            plans = "; ".join(f"{p.id}（{p.describe()}，优先级 priority {p.priority}）" for p in job.trigger.plans)
            table.add_row(job.id, plans, _local(job.next_run_time, tz))
        out_console.print(table)
        if days:
            _print_upcoming(service.plans, service.now(), days)


def _print_upcoming(plans: PlanSet, start: datetime, days: int) -> None:
    table = Table(title=f"未来 {days} 天的抓取 crawls due in the next {days} days")
    for column in ("时间 time", "站点 site", "计划 plan"):
        table.add_column(column)
    for fire, site, plan_id in plans.fire_times(start, start + timedelta(days=days)):
        table.add_row(f"{fire:%Y-%m-%d %H:%M}", site, plan_id)
    out_console.print(table)


@schedule.command("validate")
def validate_command() -> None:
    """检查计划文件（cron、时间窗、站点）。 Check the plan files: cron, windows, sites."""
    config, plans = load_config_and_plans()
    for plan in plans.plans:
        out_console.print(
            f"✓ {plan.id}: {plan.describe()} · {', '.join(plan.sites)} · {plan.describe_trigger()} · "
            f"优先级 priority {plan.priority}"
        )
    out_console.print(f"计划有效 plans valid: {len(plans.plans)} 个计划 plans, {len(plans.sites())} 个站点 sites")


@schedule.command("pause")
@click.argument("sites", nargs=-1, required=True)
def pause_command(sites: tuple[str, ...]) -> None:
    """暂停站点的定时抓取。 Pause the scheduled crawls of SITES."""
    _set_paused(sites, paused=True)


@schedule.command("resume")
@click.argument("sites", nargs=-1, required=True)
def resume_command(sites: tuple[str, ...]) -> None:
    """恢复站点的定时抓取。 Resume the scheduled crawls of SITES."""
    _set_paused(sites, paused=False)


def _set_paused(sites: tuple[str, ...], paused: bool) -> None:
    with _editing() as service:
        for site in sites:
            try:
                job = (service.scheduler.pause_job if paused else service.scheduler.resume_job)(JOB_PREFIX + site)
            except JobLookupError:
                raise click.ClickException(f"没有该站点的任务 no job for site {site!r}") from None
            state = (
                "已暂停 paused"
                if paused
                else f"已恢复 resumed, 下次 next {_local(job.next_run_time, job.trigger.timezone)}"
            )
            out_console.print(f"{site}: {state}")


@schedule.command("trigger")
@click.argument("site")
def trigger_command(site: str) -> None:
    """立即抓取一个站点（前台运行，遵守租约）。 Crawl SITE now, in the foreground, honouring the lease."""
    service = _service()
    record = service.run_site(site, kind="manual")
    if record.status == "skipped":
        raise click.ClickException(f"{site} 正在抓取中 is being crawled right now; 稍后再试 try later")
    outcome = record.outcome or CrawlOutcome(record.status)
    out_console.print(
        f"{site}: {STATUS_LABELS.get(outcome.status, outcome.status)} {outcome.status} · 页面 pages {outcome.pages} · "
        f"广告 ads {outcome.ads} · 新命中 new hits {outcome.hits} · 待审 pending {outcome.pending} · "
        f"错误 errors {outcome.errors} {outcome.message}"
    )


@schedule.command("history")
@click.option("--site", help="按站点筛选 / filter by site")
@click.option("--limit", type=int, default=30, show_default=True, help="最多显示条数 / at most this many runs")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 行输出 / print JSON lines")
def history_command(site: str | None, limit: int, as_json: bool) -> None:
    """运行记录：开始、结束、页面、广告、命中、错误。 Run history: start, end, pages, ads, hits, errors."""
    config = ScheduleConfig.from_settings(project_settings())
    rows = RunStore(make_engine(config.db_url)).history(site, limit)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    table = Table(title=f"运行记录 run history ({len(rows)})", box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True)
    for index, (header, justify) in enumerate(HISTORY_COLUMNS):
        table.add_column(header, justify=justify, no_wrap=index >= 2, overflow="fold")
    for row in rows:
        table.add_row(*_history_row(row, config.timezone))
    out_console.print(table)
    out_console.print(HISTORY_NOTE, style="dim")


#: ``schedule history`` fits 80 columns: (header, justification) of each column; English in the note below it.
HISTORY_COLUMNS = (("站点", "left"), ("计划", "left"), ("开始", "left"), ("用时", "right"), ("状态", "left"),
                   ("页面", "right"), ("广告", "right"), ("新命中", "right"), ("待审", "right"), ("错误", "right"))
HISTORY_NOTE = ("站点 site · 计划 plan（手动 manual）· 开始 started · 用时 took · 状态 status · 页面 pages · "
                "广告 ads · 新命中：本次新发现 new hits found by the run · 待审：运行结束时该站待审核的命中 pending: "
                "the site's hits awaiting review when the run ended · 错误 errors")
#: Run statuses in Chinese.
STATUS_LABELS = {"ok": "完成", "running": "运行中", "timeout": "超时", "failed": "失败", "skipped": "跳过",
                 "interrupted": "中断", "queued": "已交给集群"}


def _history_row(row: dict[str, Any], tz: tzinfo) -> list[str]:
    started = datetime.fromisoformat(row["started_at"])
    took = ""
    if row["finished_at"]:
        seconds = int((datetime.fromisoformat(row["finished_at"]) - started).total_seconds())
        took = f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
    plan = row["plan_id"] or ("手动" if row["kind"] == "manual" else "—")
    counts = (str(row[name] or 0) for name in ("pages", "ads", "hits", "pending", "errors"))
    return [row["site"], plan, f"{started.astimezone(tz):%m-%d %H:%M}", took,
            STATUS_LABELS.get(row["status"], row["status"]), *counts]


@schedule.command("add")
@click.argument("plan_id")
@click.option("--site", "sites", multiple=True, required=True, help="站点或 @组 / a site or @group (repeatable)")
@click.option("--cron", help="cron 表达式，如 '0 2 * * *' / a crontab expression")
@click.option("--interval", help="间隔，如 2h、30m / an interval such as 2h or 30m")
@click.option(
    "--window",
    "windows",
    multiple=True,
    metavar="NAME[=MM-DD..MM-DD]",
    help="活动时间窗 / an active date window, defined here if given with dates",
)
@click.option("--priority", type=int, default=0, show_default=True, help="优先级：时间窗内高者取代低者 / higher wins")
@click.option("--max-runtime", help="最长运行时间，如 45m / maximum run time such as 45m")
@click.option(
    "--file", "file_name", default="local.yaml", show_default=True, help="写入的计划文件 / plan file to write"
)
def add_command(
    plan_id: str,
    sites: tuple[str, ...],
    cron: str | None,
    interval: str | None,
    windows: tuple[str, ...],
    priority: int,
    max_runtime: str | None,
    file_name: str,
) -> None:
    """新增一个计划（校验全部计划后写入）。 Add a plan to a plan file, after validating every plan with it."""
    config = ScheduleConfig.from_settings(project_settings())
    entry: dict[str, Any] = {"id": plan_id, "sites": list(sites), "priority": priority}
    entry.update({k: v for k, v in (("cron", cron), ("interval", interval), ("max_runtime", max_runtime)) if v})
    defined: dict[str, dict[str, str]] = {}
    entry["windows"] = [window_spec(spec, defined) for spec in windows]
    edit = PlanEdit(entry, new_file=file_name, windows=defined)
    path = save_plan(config.plan_dirs, edit, known_sites(), config.timezone)
    out_console.print(
        f"已添加计划 plan added: {plan_id} → {path.name}；运行中的调度服务 {config.poll_seconds:g} 秒内载入，"
        f"无需重启 a running `adwatch schedule run` follows it within {config.poll_seconds:g} s, no restart"
    )


# --- ``python -m scheduler crawl-one | trigger``: the crawl child processes ------------------


def _child_main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m scheduler")
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("crawl-one", help="抓取一个站点（调度服务调用）crawl one site with a JOBDIR")
    one.add_argument("site")
    one.add_argument("--jobdir", type=Path, required=True)
    one.add_argument("--result", type=Path, required=True)
    one.add_argument("--log-file", type=Path, required=True)
    now = sub.add_parser("trigger", help="立即抓取一个站点（审核台调用）crawl one site now, honouring its lease")
    now.add_argument("site")
    args = parser.parse_args(argv)
    if args.command == "trigger":
        record = _manual_service().run_site(args.site, kind="manual")
        return 0 if record.status in ("ok", "queued") else 1
    return crawl_one(args.site, args.jobdir, args.result, args.log_file)


def _manual_service() -> CrawlService:
    """A service for one manual run: the plans if they load (for the site's max run time), else none."""
    config = ScheduleConfig.from_settings(project_settings())
    try:
        plans = load_plans(config.plan_dirs, known_sites(), config.timezone)
    except AdWatchError as exc:
        logger.warning("计划无法载入，按默认设置抓取 plans not loaded, crawling with the defaults: %s", exc)
        plans = PlanSet((), config.timezone)
    return CrawlService(config, plans, make_launcher(config))


def launch_crawl(site: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start ``python -m scheduler trigger SITE`` in the background (its log is the crawl's own, per run)."""
    environment = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))}
    return subprocess.Popen([sys.executable, "-m", "scheduler", "trigger", site], env=environment,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))

"""Crawl plans: when each site is crawled, read from YAML and turned into one APScheduler trigger per site.

A plan file holds named date ``windows`` (yearly ``MM-DD`` or one-off
``YYYY-MM-DD``), ``site_groups``, and ``plans``: each plan names sites (or
``@group``: a group of the file or a profile ``group``), one trigger (``cron``
or ``interval``), optional windows in which it is active, a ``priority`` and a
``max_runtime``.  At any moment a site follows the highest-priority plan active
then: inside the 双十一 window the surge plan's every-two-hours replaces the
daily 02:00 crawl, and outside it the daily plan is back.

Everything here is pure: ``SiteTrigger`` computes fire times for any clock, so
plans can be checked over a simulated month in microseconds.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from itertools import combinations
from pathlib import Path
from typing import Any

import yaml
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from crawler.exceptions import PlanError

_MONTH_DAY = re.compile(r"^(?:(\d{4})-)?(\d{2})-(\d{2})$")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SEARCH_STEPS = 10_000


def parse_duration(value: str | float | int) -> float:
    """Seconds in '90s', '30m', '2h', '1d' or a bare number of seconds."""
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(value.strip())
        if not match:
            raise ValueError(f"bad duration {value!r}; use e.g. 90s, 30m, 2h, 1d")
        seconds = float(match[1]) * _UNITS[match[2]]
    if seconds <= 0:
        raise ValueError(f"duration must be positive, got {value!r}")
    return seconds


# --- the YAML format ---------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WindowSpec(_Strict):
    start: str
    end: str
    title: str = ""

    @field_validator("start", "end")
    @classmethod
    def _is_a_date(cls, value: str) -> str:
        _day_parts(value)
        return value

    @model_validator(mode="after")
    def _not_inverted(self) -> WindowSpec:
        start, end = _day_parts(self.start), _day_parts(self.end)
        if (start[0] is None) != (end[0] is None):
            raise ValueError("start and end must both be MM-DD (yearly) or both YYYY-MM-DD (once)")
        if (start[0] or 0, start[1], start[2]) > (end[0] or 0, end[1], end[2]):
            raise ValueError(
                f"inverted window: start {self.start} is after end {self.end} (split a window over New Year)"
            )
        return self


class PlanSpec(_Strict):
    id: str
    sites: list[str]
    cron: str | None = None
    interval: str | float | None = None
    windows: list[str] = []
    priority: int = 0
    max_runtime: str | float | None = None
    description: str = ""

    @field_validator("id")
    @classmethod
    def _id_is_a_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", value):
            raise ValueError(f"plan id {value!r} may use letters, digits, '_', '.', '-' only")
        return value

    @field_validator("sites")
    @classmethod
    def _some_sites(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("a plan needs at least one site or @group")
        return value

    @field_validator("cron")
    @classmethod
    def _cron_parses(cls, value: str | None) -> str | None:
        if value is not None:
            fields = value.split()
            if len(fields) == 5 and re.search(r"\d", fields[4]):
                raise ValueError(f"bad cron {value!r}: write the weekday as mon-sun (numbers are ambiguous)")
            try:
                CronTrigger.from_crontab(value, timezone="Asia/Shanghai")
            except ValueError as exc:
                raise ValueError(f"bad cron {value!r}: {exc}") from None
        return value

    @field_validator("interval", "max_runtime")
    @classmethod
    def _duration_parses(cls, value: str | float | None) -> str | float | None:
        if value is not None:
            parse_duration(value)
        return value

    @model_validator(mode="after")
    def _one_trigger(self) -> PlanSpec:
        if (self.cron is None) == (self.interval is None):
            raise ValueError("give exactly one of cron or interval")
        return self


class PlanFile(_Strict):
    windows: dict[str, WindowSpec] = {}
    site_groups: dict[str, list[str]] = {}
    plans: list[dict[str, Any]]  # each checked as a PlanSpec on its own


# --- resolved plans ------------------------------------------------------------


def _day_parts(text: str) -> tuple[int | None, int, int]:
    match = _MONTH_DAY.match(str(text))
    if not match:
        raise ValueError(f"bad date {text!r}; use MM-DD (every year) or YYYY-MM-DD (once)")
    year = int(match[1]) if match[1] else None
    month, day = int(match[2]), int(match[3])
    try:
        date(year or 2001, month, day)  # 2001: not a leap year, so 02-29 cannot recur yearly
    except ValueError:
        raise ValueError(f"no such day {text!r}") from None
    return year, month, day


@dataclass(frozen=True)
class Window:
    """Days on which a plan is active, both ends included: every year (``year`` None) or once."""

    name: str
    start: tuple[int, int]
    end: tuple[int, int]
    year: int | None = None

    def occurrence(self, year: int) -> tuple[date, date]:
        return date(year, *self.start), date(year, *self.end)

    def contains(self, day: date) -> bool:
        if self.year is not None:
            first, last = self.occurrence(self.year)
            return first <= day <= last
        return self.start <= (day.month, day.day) <= self.end

    def next_occurrence(self, day: date) -> tuple[date, date] | None:
        """The occurrence that contains ``day`` or, failing that, the next one to begin after it."""
        years = [self.year] if self.year is not None else [day.year, day.year + 1]
        for year in years:
            first, last = self.occurrence(year)
            if last >= day:
                return first, last
        return None

    def overlaps(self, other: Window) -> bool:
        years = {y for y in (self.year, other.year) if y is not None} or {2001}
        for year in years:
            a, b = self.occurrence(self.year or year), other.occurrence(other.year or year)
            if a[0] <= b[1] and b[0] <= a[1]:
                return True
        return False


@dataclass(frozen=True)
class Plan:
    id: str
    source: str
    sites: tuple[str, ...]
    cron: str | None
    interval: float | None
    windows: tuple[Window, ...]
    priority: int
    max_runtime: float | None
    description: str = ""

    def describe_trigger(self) -> str:
        return f"cron {self.cron}" if self.cron else f"every {_human(self.interval or 0)}"

    def describe_windows(self) -> str:
        return ", ".join(w.name for w in self.windows) or "全年 all year"


def _human(seconds: float) -> str:
    for unit in ("d", "h", "m"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds:g}s"


# --- triggers ------------------------------------------------------------------


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz)


class _PlanClock:
    """Fire times of one plan for one site, ignoring other plans."""

    def __init__(self, plan: Plan, tz: tzinfo) -> None:
        self.plan = plan
        self.tz = tz
        self.cron = CronTrigger.from_crontab(plan.cron, timezone=tz) if plan.cron else None

    def active(self, moment: datetime) -> bool:
        day = moment.astimezone(self.tz).date()
        return not self.plan.windows or any(w.contains(day) for w in self.plan.windows)

    def active_until(self, moment: datetime) -> datetime | None:
        """The first moment after ``moment`` at which this plan is no longer active (None: never ends)."""
        if not self.plan.windows:
            return None
        day = moment.astimezone(self.tz).date()
        ends = [occ[1] for w in self.plan.windows if w.contains(day) and (occ := w.next_occurrence(day))]
        return _midnight(max(ends) + timedelta(days=1), self.tz) if ends else moment

    def next_fire(self, start: datetime) -> datetime | None:
        """The first fire time at or after ``start`` inside one of the plan's windows."""
        moment = start.astimezone(self.tz)
        for _ in range(_SEARCH_STEPS):
            span = self._span(moment)
            if span is None:
                return None
            opens, closes = span
            fire = self._base_fire(max(moment, opens), opens)
            if fire is None:
                return None
            if closes is None or fire < closes:
                return fire
            moment = closes
        return None

    def _span(self, moment: datetime) -> tuple[datetime, datetime | None] | None:
        """The active span (open, close) containing ``moment`` or the next one after it."""
        if not self.plan.windows:
            return _midnight(date(2000, 1, 1), self.tz), None
        day = moment.date()
        spans = [occ for w in self.plan.windows if (occ := w.next_occurrence(day))]
        if not spans:
            return None
        first, last = min(spans)
        return _midnight(first, self.tz), _midnight(last + timedelta(days=1), self.tz)

    def _base_fire(self, start: datetime, anchor: datetime) -> datetime | None:
        if self.cron is not None:
            return self.cron.get_next_fire_time(None, start)
        step = self.plan.interval or 0
        count = math.ceil((start - anchor).total_seconds() / step)
        return anchor + timedelta(seconds=count * step)


class SiteTrigger(BaseTrigger):
    """An APScheduler trigger for one site: the union of its plans, each owning the times it outranks the rest."""

    def __init__(self, site: str, plans: Iterable[Plan], timezone: tzinfo) -> None:
        self.site = site
        self.plans = tuple(sorted(plans, key=lambda p: -p.priority))
        self.timezone = timezone
        self._clocks: list[_PlanClock] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"site": self.site, "plans": self.plans, "timezone": self.timezone}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _clocks=None)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SiteTrigger) and self.__getstate__() == other.__getstate__()

    def __hash__(self) -> int:
        return hash((self.site, self.plans))

    def __str__(self) -> str:
        return f"site[{self.site}: " + "; ".join(f"{p.id} {p.describe_trigger()}" for p in self.plans) + "]"

    @property
    def clocks(self) -> list[_PlanClock]:
        if self._clocks is None:
            self._clocks = [_PlanClock(plan, self.timezone) for plan in self.plans]
        return self._clocks

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        start = previous_fire_time + timedelta(seconds=1) if previous_fire_time else now
        fires = [fire for clock in self.clocks if (fire := self._owned_fire(clock, start)) is not None]
        return min(fires) if fires else None

    def _owned_fire(self, clock: _PlanClock, start: datetime) -> datetime | None:
        """The first fire of ``clock`` at or after ``start`` when no higher-priority plan is active."""
        moment: datetime | None = start
        for _ in range(_SEARCH_STEPS):
            fire = clock.next_fire(moment) if moment is not None else None
            if fire is None:
                return None
            blocker = self._outranked_by(clock, fire)
            if blocker is None:
                return fire
            moment = blocker.active_until(fire)
        return None

    def _outranked_by(self, clock: _PlanClock, moment: datetime) -> _PlanClock | None:
        for other in self.clocks:
            if other.plan.priority > clock.plan.priority and other.active(moment):
                return other
        return None

    def plan_at(self, moment: datetime) -> Plan | None:
        """The plan that owns ``moment`` (the highest-priority plan active then)."""
        return next((clock.plan for clock in self.clocks if clock.active(moment)), None)

    def fire_times(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Every fire time in [start, end)."""
        fire = self.get_next_fire_time(None, start)
        while fire is not None and fire < end:
            yield fire
            fire = self.get_next_fire_time(fire, fire)

    def latest_fire(self, now: datetime) -> datetime | None:
        """The last fire time at or before ``now``: the run a job started at ``now`` stands for."""
        for days in (2, 35, 400):
            fires = list(self.fire_times(now - timedelta(days=days), now + timedelta(microseconds=1)))
            if fires:
                return fires[-1]
        return None


# --- loading and validation -------------------------------------------------------


@dataclass(frozen=True)
class PlanSet:
    """Every plan of every plan file, and the trigger of each site they name."""

    plans: tuple[Plan, ...]
    timezone: tzinfo

    def sites(self) -> list[str]:
        return sorted({site for plan in self.plans for site in plan.sites})

    def trigger(self, site: str) -> SiteTrigger:
        return SiteTrigger(site, [p for p in self.plans if site in p.sites], self.timezone)

    def triggers(self) -> dict[str, SiteTrigger]:
        return {site: self.trigger(site) for site in self.sites()}

    def fire_times(self, start: datetime, end: datetime) -> list[tuple[datetime, str, str]]:
        """(time, site, plan id) of every crawl due in [start, end), in time order."""
        fires = [
            (fire, site, trigger.plan_at(fire).id)  # type: ignore[union-attr]
            for site, trigger in self.triggers().items()
            for fire in trigger.fire_times(start, end)
        ]
        return sorted(fires)


def _pydantic_errors(exc: ValidationError, data: Any, source: str) -> list[str]:
    errors = []
    for error in exc.errors():
        loc = list(error["loc"])
        where = source
        if len(loc) >= 2 and loc[0] == "plans" and isinstance(loc[1], int):
            entry = data["plans"][loc[1]] if isinstance(data, dict) else {}
            name = entry.get("id", "?") if isinstance(entry, dict) else "?"
            where += f": plans[{loc[1]}] ({name})"
            loc = loc[2:]
        elif len(loc) >= 2 and loc[0] == "windows":
            where += f": windows.{loc[1]}"
            loc = loc[2:]
        field = ".".join(str(part) for part in loc) or "entry"
        errors.append(f"{where} → {field}: {error['msg'].removeprefix('Value error, ')}")
    return errors


def _resolve_sites(
    names: list[str], groups: Mapping[str, list[str]], known: Mapping[str, str], where: str
) -> tuple[list[str], list[str]]:
    sites, errors = [], []
    profile_groups: dict[str, list[str]] = {}
    for site, group in known.items():
        profile_groups.setdefault(group, []).append(site)
    for name in names:
        if name.startswith("@"):
            members = groups.get(name[1:], profile_groups.get(name[1:]))
            if members is None:
                errors.append(
                    f"{where} → sites: unknown group {name!r}{_did_you_mean(name[1:], [*groups, *profile_groups])}"
                )
                continue
            names = members
        else:
            names = [name]
        for site in names:
            if site not in known:
                errors.append(f"{where} → sites: unknown site {site!r}{_did_you_mean(site, list(known))}")
            elif site not in sites:
                sites.append(site)
    return sites, errors


def _did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    return f"；did you mean {close[0]!r}?" if close else f"；known: {', '.join(sorted(choices)) or '(none)'}"


def _window(name: str, spec: WindowSpec) -> Window:
    start, end = _day_parts(spec.start), _day_parts(spec.end)
    return Window(name, (start[1], start[2]), (end[1], end[2]), start[0])


def _plans_of_file(path: Path, known: Mapping[str, str]) -> tuple[list[Plan], list[str]]:
    """Every entry is checked on its own, so that one bad entry does not hide the problems of the others."""
    source = path.name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        return [], [f"{source}: cannot read the plan file: {exc}"]
    try:
        parsed = PlanFile.model_validate(data)
    except ValidationError as exc:
        return [], _pydantic_errors(exc, data, source)
    windows = {name: _window(name, spec) for name, spec in parsed.windows.items()}
    plans, errors = [], []
    for index, entry in enumerate(parsed.plans):
        plan, problems = _plan(entry, f"{source}: plans[{index}] ({entry.get('id', '?')})", parsed, windows, known)
        errors += problems
        if plan is not None:
            plans.append(plan)
    return plans, errors


def _plan(
    entry: dict[str, Any], where: str, parsed: PlanFile, windows: Mapping[str, Window], known: Mapping[str, str]
) -> tuple[Plan | None, list[str]]:
    errors: list[str] = []
    raw_sites = entry.get("sites")
    if isinstance(raw_sites, list) and all(isinstance(s, str) for s in raw_sites):
        sites, errors = _resolve_sites(raw_sites, parsed.site_groups, known, where)
    try:
        spec = PlanSpec.model_validate(entry)
    except ValidationError as exc:
        return None, errors + _entry_errors(exc, where)
    errors += [
        f"{where} → windows: unknown window {w!r}{_did_you_mean(w, list(windows))}"
        for w in spec.windows
        if w not in windows
    ]
    chosen = tuple(windows[w] for w in spec.windows if w in windows)
    errors += [
        f"{where} → windows: overlapping windows {a.name} and {b.name}"
        for a, b in combinations(chosen, 2)
        if a.overlaps(b)
    ]
    interval = parse_duration(spec.interval) if spec.interval is not None else None
    runtime = parse_duration(spec.max_runtime) if spec.max_runtime is not None else None
    plan = Plan(spec.id, where, tuple(sites), spec.cron, interval, chosen, spec.priority, runtime, spec.description)
    return plan, errors


def _entry_errors(exc: ValidationError, where: str) -> list[str]:
    return [
        f"{where} → {'.'.join(str(p) for p in error['loc']) or 'entry'}: {error['msg'].removeprefix('Value error, ')}"
        for error in exc.errors()
    ]


def _overlap_errors(plans: list[Plan]) -> list[str]:
    """Two plans for one site at one priority must never be active on the same day: which would it follow?"""
    errors = []
    for a, b in combinations(plans, 2):
        shared = sorted(set(a.sites) & set(b.sites))
        if not shared or a.priority != b.priority:
            continue
        both_always = not a.windows or not b.windows
        if both_always or any(x.overlaps(y) for x in a.windows for y in b.windows):
            errors.append(
                f"{b.source} → windows: overlaps plan {a.id!r} for {', '.join(shared)} at the same priority "
                f"{a.priority}; give one a higher priority or separate the windows"
            )
    return errors


def plan_files(directories: Iterable[Path]) -> list[Path]:
    return [path for directory in directories if directory.is_dir() for path in sorted(directory.glob("*.yaml"))]


def load_plans(directories: Iterable[Path], known_sites: Mapping[str, str], timezone: tzinfo) -> PlanSet:
    """Load and validate every ``*.yaml`` plan file; ``known_sites`` maps profile name → profile group.

    Raises :class:`PlanError` listing every problem, each naming file, entry and field.
    """
    plans, errors = [], []
    paths = plan_files(directories)
    if not paths:
        raise PlanError(f"没有计划文件 no plan files (*.yaml) in {', '.join(str(d) for d in directories)}")
    for path in paths:
        found, problems = _plans_of_file(path, known_sites)
        plans += found
        errors += problems
    ids = [p.id for p in plans]
    errors += [f"{p.source} → id: duplicate plan id {p.id!r}" for i, p in enumerate(plans) if p.id in ids[:i]]
    errors += _overlap_errors(plans)
    if errors:
        raise PlanError("计划文件有误 invalid plans:\n  " + "\n  ".join(errors))
    return PlanSet(tuple(plans), timezone)

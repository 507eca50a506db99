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

import contextlib
import difflib
import hashlib
import io
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from itertools import combinations
from pathlib import Path
from typing import Any

import yaml
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

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
            raise ValueError(f"时长有误 bad duration {value!r}; 例如 use e.g. 90s, 30m, 2h, 1d")
        seconds = float(match[1]) * _UNITS[match[2]]
    if seconds <= 0:
        raise ValueError(f"时长须大于零 duration must be positive, got {value!r}")
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
            raise ValueError("起止须同为 MM-DD（每年）或同为 YYYY-MM-DD（一次） "
                             "start and end must both be MM-DD (yearly) or both YYYY-MM-DD (once)")
        if (start[0] or 0, start[1], start[2]) > (end[0] or 0, end[1], end[2]):
            raise ValueError(
                f"起止颠倒（跨年请拆成两个时间窗） inverted window: start {self.start} is after end {self.end} "
                "(split a window over New Year)"
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
        if not re.fullmatch(r"[\w.-]+", value):
            raise ValueError(f"计划编号只能用汉字、字母、数字和 _ . - plan id {value!r} may use letters (汉字 too), "
                             "digits, '_', '.', '-' only")
        return value

    @field_validator("sites")
    @classmethod
    def _some_sites(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("至少要有一个站点或 @组 a plan needs at least one site or @group")
        return value

    @field_validator("cron")
    @classmethod
    def _cron_parses(cls, value: str | None) -> str | None:
        if value is not None:
            fields = value.split()
            if len(fields) == 5 and re.search(r"\d", fields[4]):
                raise ValueError(f"cron 有误 bad cron {value!r}: 星期请写 mon–sun write the weekday as mon-sun "
                                 "(numbers are ambiguous)")
            try:
                CronTrigger.from_crontab(value, timezone="Asia/Shanghai")
            except ValueError as exc:
                raise ValueError(f"cron 有误 bad cron {value!r}: {exc}") from None
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
            raise ValueError("cron 与 interval 须给且只给一个 give exactly one of cron or interval")
        return self


class PlanFile(_Strict):
    windows: dict[str, WindowSpec] = {}
    site_groups: dict[str, list[str]] = {}
    plans: list[dict[str, Any]]  # each checked as a PlanSpec on its own


# --- resolved plans ------------------------------------------------------------


def _day_parts(text: str) -> tuple[int | None, int, int]:
    match = _MONTH_DAY.match(str(text))
    if not match:
        raise ValueError(f"日期有误 bad date {text!r}; 请写 use MM-DD（每年 every year）或 or YYYY-MM-DD（一次 once）")
    year = int(match[1]) if match[1] else None
    month, day = int(match[2]), int(match[3])
    try:
        date(year or 2001, month, day)  # 2001: not a leap year, so 02-29 cannot recur yearly
    except ValueError:
        raise ValueError(f"没有这一天 no such day {text!r}") from None
    return year, month, day


@dataclass(frozen=True)
class Window:
    """Days on which a plan is active, both ends included: every year (``year`` None) or once."""

    name: str
    start: tuple[int, int]
    end: tuple[int, int]
    year: int | None = None
    title: str = ""

    @property
    def label(self) -> str:
        return self.title or self.name

    def describe(self) -> str:
        """``双十一期间 10-20 至 11-12`` (a one-off window with its year)."""
        year = f"{self.year}-" if self.year is not None else ""
        return (f"{self.label}期间 {year}{self.start[0]:02d}-{self.start[1]:02d} 至 "
                f"{year}{self.end[0]:02d}-{self.end[1]:02d}")

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

    def describe(self) -> str:
        """The plan in plain Chinese: ``每天 09:00``, ``双十一期间 11-01 至 11-12 每 2 小时``."""
        when = describe_cron(self.cron) if self.cron else describe_interval(self.interval or 0)
        return "、".join(w.describe() for w in self.windows) + (" " if self.windows else "") + when


_WEEKDAYS = {"mon": "一", "tue": "二", "wed": "三", "thu": "四", "fri": "五", "sat": "六", "sun": "日"}
_CHINESE_UNITS = (("d", 86400, "天"), ("h", 3600, "小时"), ("m", 60, "分钟"))


def describe_interval(seconds: float) -> str:
    """``每 2 小时``, ``每 30 分钟``, ``每天``."""
    if seconds == 86400:
        return "每天一次"
    for _, size, name in _CHINESE_UNITS:
        if seconds >= size and seconds % size == 0:
            return f"每 {int(seconds // size)} {name}"
    return f"每 {seconds:g} 秒"


def _weekdays(field: str) -> str:
    """``mon-fri`` → ``周一至周五``, ``mon,wed`` → ``周一、周三``."""
    parts = []
    for part in field.split(","):
        first, _, last = part.partition("-")
        parts.append(f"周{_WEEKDAYS[first]}" + (f"至周{_WEEKDAYS[last]}" if last else ""))
    return "、".join(parts)


def _clock_times(minute: str, hour: str) -> str | None:
    if not (minute.isdigit() and re.fullmatch(r"\d+(,\d+)*", hour)):
        return None
    return "、".join(f"{int(h):02d}:{int(minute):02d}" for h in hour.split(","))


def _past_the_hour(minute: str) -> str:
    return "整点" if int(minute) == 0 else f"{int(minute)} 分"


def describe_cron(cron: str) -> str:
    """A crontab expression in plain Chinese where it has a common shape; otherwise the expression itself."""
    minute, hour, day, month, weekday = cron.split()
    times = _clock_times(minute, hour)
    if times and month == "*" and day == "*":
        if weekday == "*":
            return f"每天 {times}"
        if re.fullmatch(r"[a-z]{3}(-[a-z]{3})?(,[a-z]{3}(-[a-z]{3})?)*", weekday) and all(
                name in _WEEKDAYS for name in re.split(r"[-,]", weekday)):
            return f"每{_weekdays(weekday)} {times}"
    if times and month == "*" and weekday == "*" and re.fullmatch(r"\d+(,\d+)*", day):
        return f"每月 {day.replace(',', '、')} 日 {times}"
    step = re.fullmatch(r"\*/(\d+)", hour)
    if step and minute.isdigit() and (day, month, weekday) == ("*", "*", "*"):
        return f"每 {step[1]} 小时（{_past_the_hour(minute)}）"
    if hour == "*" and minute.isdigit() and (day, month, weekday) == ("*", "*", "*"):
        return f"每小时（{_past_the_hour(minute)}）"
    step = re.fullmatch(r"\*/(\d+)", minute)
    if step and (hour, day, month, weekday) == ("*", "*", "*", "*"):
        return f"每 {step[1]} 分钟"
    return f"按 cron「{cron}」"


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


#: Chinese beside pydantic's own messages, by error type.
_PYDANTIC_ZH = {"missing": "缺少此项", "extra_forbidden": "不支持的字段", "string_type": "应为文字",
                "int_type": "应为整数", "int_parsing": "应为整数", "list_type": "应为列表", "dict_type": "应为映射",
                "model_type": "应为映射"}


def _message(error: Any) -> str:
    text = error["msg"].removeprefix("Value error, ")
    chinese = _PYDANTIC_ZH.get(error["type"])
    return f"{chinese} {text}" if chinese else text


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
        errors.append(f"{where} → {field}: {_message(error)}")
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
                    f"{where} → sites: 未知的组 unknown group {name!r}"
                    f"{_did_you_mean(name[1:], [*groups, *profile_groups])}"
                )
                continue
            names = members
        else:
            names = [name]
        for site in names:
            if site not in known:
                errors.append(f"{where} → sites: 未知站点 unknown site {site!r}{_did_you_mean(site, list(known))}")
            elif site not in sites:
                sites.append(site)
    return sites, errors


def _did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    if close:
        return f"；did you mean {close[0]!r}? 是否指 {close[0]}"
    return f"；可用 known: {', '.join(sorted(choices)) or '（无 none）'}"


def _window(name: str, spec: WindowSpec) -> Window:
    start, end = _day_parts(spec.start), _day_parts(spec.end)
    return Window(name, (start[1], start[2]), (end[1], end[2]), start[0], spec.title)


def _plans_of_file(source: str, text: str, known: Mapping[str, str]) -> tuple[list[Plan], list[str]]:
    """Every entry is checked on its own, so that one bad entry does not hide the problems of the others."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return [], [f"{source}: 无法读取计划文件 cannot read the plan file: {exc}"]
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
        f"{where} → windows: 未知时间窗 unknown window {w!r}{_did_you_mean(w, list(windows))}"
        for w in spec.windows
        if w not in windows
    ]
    chosen = tuple(windows[w] for w in spec.windows if w in windows)
    errors += [
        f"{where} → windows: 时间窗重叠 overlapping windows {a.name} and {b.name}"
        for a, b in combinations(chosen, 2)
        if a.overlaps(b)
    ]
    interval = parse_duration(spec.interval) if spec.interval is not None else None
    runtime = parse_duration(spec.max_runtime) if spec.max_runtime is not None else None
    plan = Plan(spec.id, where, tuple(sites), spec.cron, interval, chosen, spec.priority, runtime, spec.description)
    return plan, errors


def _entry_errors(exc: ValidationError, where: str) -> list[str]:
    return [
        f"{where} → {'.'.join(str(p) for p in error['loc']) or 'entry'}: {_message(error)}"
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
                f"{a.priority}（同一优先级、同一站点、时间重叠）; 请提高其一的优先级或错开时间窗 give one a higher "
                "priority or separate the windows"
            )
    return errors


def plan_files(directories: Iterable[Path]) -> list[Path]:
    return [path for directory in directories if directory.is_dir() for path in sorted(directory.glob("*.yaml"))]


def read_plan_files(directories: Iterable[Path]) -> dict[Path, str]:
    """Every ``*.yaml`` plan file and its text."""
    texts = {}
    for path in plan_files(directories):
        try:
            texts[path] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PlanError(f"{path.name}: 无法读取计划文件 cannot read the plan file: {exc}") from None
    return texts


def plans_fingerprint(directories: Iterable[Path]) -> str:
    """A digest of the plan files' names and contents: it changes whenever a plan file is edited, added or removed."""
    digest = hashlib.sha256()
    for path in plan_files(directories):
        digest.update(path.name.encode() + b"\0")
        with contextlib.suppress(OSError):
            digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def load_plans(directories: Iterable[Path], known_sites: Mapping[str, str], timezone: tzinfo) -> PlanSet:
    """Load and validate every ``*.yaml`` plan file; ``known_sites`` maps profile name → profile group.

    Raises :class:`PlanError` listing every problem, each naming file, entry and field.
    """
    directories = list(directories)
    texts = read_plan_files(directories)
    if not texts:
        raise PlanError(f"没有计划文件 no plan files (*.yaml) in {', '.join(str(d) for d in directories)}")
    return plans_of_texts(texts, known_sites, timezone)


def plans_of_texts(texts: Mapping[Path, str], known_sites: Mapping[str, str], timezone: tzinfo) -> PlanSet:
    """Validate plan files given as texts (the files as they are, or as an edit would leave them)."""
    plans, errors = [], []
    for path, text in texts.items():
        found, problems = _plans_of_file(path.name, text, known_sites)
        plans += found
        errors += problems
    ids = [p.id for p in plans]
    errors += [f"{p.source} → id: 计划编号重复 duplicate plan id {p.id!r}" for i, p in enumerate(plans)
               if p.id in ids[:i]]
    errors += _overlap_errors(plans)
    if errors:
        raise PlanError("计划文件有误 invalid plans:\n  " + "\n  ".join(errors))
    return PlanSet(tuple(plans), timezone)


# --- editing ------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanEdit:
    """A plan written (or rewritten, when ``replaces`` names one) into the plan files, with windows it defines."""

    entry: dict[str, Any]
    replaces: str = ""
    new_file: str = "local.yaml"
    windows: Mapping[str, dict[str, str]] = field(default_factory=dict)


def window_spec(spec: str, defined: dict[str, dict[str, str]]) -> str:
    """A window named in an edit: ``NAME`` (defined in the plan files) or ``NAME=MM-DD..MM-DD``, which defines it in
    ``defined``; returns the name."""
    name, sep, span = spec.partition("=")
    if sep:
        start, dots, end = span.partition("..")
        if not dots:
            raise PlanError(f"时间窗应写作 名称=MM-DD..MM-DD a window is NAME=MM-DD..MM-DD, got {spec!r}")
        defined[name] = {"start": start, "end": end}
    return name


def save_plan(directories: list[Path], edit: PlanEdit, known_sites: Mapping[str, str], timezone: tzinfo) -> Path:
    """Write the plan into its file, only if every plan stays valid with it; returns the file written.

    A running scheduler sees the changed file at its next poll and follows it (no restart).
    """
    if not directories:
        raise PlanError("ADWATCH_SCHEDULE_DIRS 为空 is empty")
    texts = read_plan_files(directories)
    path = _file_of_plan(texts, edit.replaces) if edit.replaces else directories[0] / edit.new_file
    text = _edited_text(texts.get(path, ""), edit)
    plans_of_texts({**texts, path: text}, known_sites, timezone)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.saving")
    staging.write_text(text, encoding="utf-8")
    os.replace(staging, path)
    return path


def _round_trip() -> YAML:
    """A YAML reader and writer that keeps the file's comments, key order and layout where nothing changed."""
    rt = YAML(typ="rt")
    rt.allow_unicode = True
    rt.preserve_quotes = True
    rt.width = 120
    rt.indent(mapping=2, sequence=4, offset=2)
    return rt


def _edited_text(text: str, edit: PlanEdit) -> str:
    """``text`` with the plan of ``edit`` put in: the comments of the file and of the plan's unchanged fields stay."""
    rt = _round_trip()
    data = rt.load(text) if text.strip() else None
    data = data if isinstance(data, CommentedMap) else CommentedMap()
    entries = data.get("plans")
    if not isinstance(entries, list):
        entries = data["plans"] = []
    index = next((i for i, p in enumerate(entries) if isinstance(p, dict) and p.get("id") == edit.replaces), None)
    if index is None:
        entries.append(edit.entry)
    else:
        _update_in_place(entries[index], edit.entry)
    if edit.windows:
        windows = data.get("windows")
        if not isinstance(windows, dict):
            windows = data["windows"] = CommentedMap()
        windows.update(edit.windows)
    stream = io.StringIO()
    rt.dump(data, stream)
    return stream.getvalue()


def _update_in_place(current: dict[str, Any], wanted: Mapping[str, Any]) -> None:
    """Make ``current`` equal ``wanted`` key by key, so the comments of the keys that stay are kept."""
    for key in [key for key in current if key not in wanted]:
        del current[key]
    for key, value in wanted.items():
        if current.get(key) != value:
            current[key] = value


def _file_of_plan(texts: Mapping[Path, str], plan_id: str) -> Path:
    for path, text in texts.items():
        data = yaml.safe_load(text)
        if isinstance(data, dict) and any(isinstance(p, dict) and p.get("id") == plan_id
                                          for p in data.get("plans") or []):
            return path
    raise PlanError(f"没有这个计划 no plan {plan_id!r}")

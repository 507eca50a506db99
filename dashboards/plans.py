"""The 抓取计划 page's figures: the plans in plain Chinese, calendars of crawls, the jobs and the scheduler's state.

The page reads the plan files as they are now and the job store as the running
scheduler keeps it; an edit made here is validated against every plan and
written to its file, and the running scheduler follows it at its next poll.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

import yaml

from crawler.exceptions import PlanError
from crawler.plans import PlanEdit, PlanSet, Window, plans_fingerprint, read_plan_files, window_spec
from scheduler import ScheduleConfig

WEEKDAY_NAMES = "一二三四五六日"
_LIST = re.compile(r"[,，、\s]+")


@dataclass
class DayCell:
    """One day of a calendar: how many crawls each plan fires on it."""

    day: date
    plans: Counter[str] = field(default_factory=Counter)
    surge: bool = False

    @property
    def total(self) -> int:
        return sum(self.plans.values())

    @property
    def weekday(self) -> str:
        return "周" + WEEKDAY_NAMES[self.day.weekday()]


@dataclass
class Calendar:
    title: str
    weeks: list[list[DayCell | None]]


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz)


def calendar(plans: PlanSet, title: str, first: date, last: date) -> Calendar:
    """Every day from ``first`` to ``last`` with its crawls, in weeks from Monday."""
    tz = plans.timezone
    cells = {first + timedelta(days=n): DayCell(first + timedelta(days=n)) for n in range((last - first).days + 1)}
    for fire, _, plan_id in plans.fire_times(_midnight(first, tz), _midnight(last + timedelta(days=1), tz)):
        cells[fire.astimezone(tz).date()].plans[plan_id] += 1
    windowed = {plan.id for plan in plans.plans if plan.windows}
    for cell in cells.values():
        cell.surge = any(plan in windowed for plan in cell.plans)
    days: list[DayCell | None] = [None] * first.weekday() + list(cells.values())
    days += [None] * (-len(days) % 7)
    return Calendar(title, [days[i:i + 7] for i in range(0, len(days), 7)])


def next_surge(plans: PlanSet, today: date) -> tuple[Window, date, date] | None:
    """The window of a plan that is on now or begins soonest (its occurrence's first and last day)."""
    occurrences = [(occurrence, window) for plan in plans.plans for window in plan.windows
                   if (occurrence := window.next_occurrence(today))]
    if not occurrences:
        return None
    (first, last), window = min(occurrences, key=lambda pair: pair[0])
    return window, first, last


def calendars(plans: PlanSet, now: datetime, days: int = 30) -> list[Calendar]:
    """The next ``days`` days, and the next surge window (if it is not inside them already)."""
    today = now.astimezone(plans.timezone).date()
    shown = [calendar(plans, f"未来 {days} 天 the next {days} days", today, today + timedelta(days=days - 1))]
    surge = next_surge(plans, today)
    if surge:
        window, first, last = surge
        shown.append(calendar(plans, f"下一个高峰 next surge: {window.label}（{first:%Y-%m-%d} 至 {last:%Y-%m-%d}）",
                              first, last))
    return shown


@dataclass(frozen=True)
class ServiceState:
    """What the page says about the running scheduler."""

    running: bool
    current: bool
    error: str
    seen_at: str
    loaded_at: str


def service_state(row: Mapping[str, Any] | None, config: ScheduleConfig, now: datetime) -> ServiceState:
    if row is None:
        return ServiceState(False, False, "", "", "")
    running = now.timestamp() - row["seen_at"] <= 3 * config.poll_seconds + 10
    current = row["plans_fingerprint"] == plans_fingerprint(config.plan_dirs)
    seen = datetime.fromtimestamp(row["seen_at"], config.timezone).isoformat(timespec="seconds")
    return ServiceState(running, current, row["plans_error"], seen, row["plans_loaded_at"])


def plan_entries(directories: list[Path]) -> dict[str, dict[str, Any]]:
    """Each plan's entry as written in its file (sites with their @groups, durations as written), by id."""
    entries = {}
    for text in read_plan_files(directories).values():
        data = yaml.safe_load(text)
        for entry in (data.get("plans") or []) if isinstance(data, dict) else []:
            if isinstance(entry, dict) and "id" in entry:
                entries[str(entry["id"])] = entry
    return entries


def _names(value: object) -> list[str]:
    return [name for name in _LIST.split(str(value or "").strip()) if name]


def edit_from_form(form: Mapping[str, Any]) -> PlanEdit:
    """A plan from the page's form: sites and windows as lists (``名称=MM-DD..MM-DD`` defines a window)."""
    entry: dict[str, Any] = {"id": str(form.get("id", "")).strip()}
    description = str(form.get("description", "")).strip()
    if description:
        entry["description"] = description
    entry["sites"] = _names(form.get("sites"))
    for key in ("cron", "interval"):
        value = str(form.get(key, "")).strip()
        if value:
            entry[key] = value
    windows: dict[str, dict[str, str]] = {}
    entry["windows"] = [window_spec(spec, windows) for spec in _names(form.get("windows"))]
    entry["priority"] = _priority(form.get("priority"))
    runtime = str(form.get("max_runtime", "")).strip()
    if runtime:
        entry["max_runtime"] = runtime
    return PlanEdit(entry, replaces=str(form.get("replaces", "")).strip(), windows=windows)


def _priority(value: object) -> int:
    try:
        return int(str(value or "0").strip())
    except ValueError:
        raise PlanError(f"优先级应为整数 priority must be a whole number, got {value!r}") from None

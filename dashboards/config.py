"""The review console's settings, read once (defaults in crawler/settings.py, documented in README.md)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from scrapy.settings import BaseSettings

from crawler.config import AdWatchConfig
from crawler.exceptions import AdWatchError
from crawler.monitor import MonitorConfig
from evidence.config import EvidenceConfig
from indexer.config import IndexConfig
from scheduler import ScheduleConfig


class ConsoleConfigError(AdWatchError):
    """ADWATCH_CONSOLE_* settings that cannot work."""


@dataclass(frozen=True)
class ConsoleConfig:
    base: AdWatchConfig
    index: IndexConfig
    evidence: EvidenceConfig
    monitor: MonitorConfig
    schedule: ScheduleConfig
    db_path: Path
    host: str = "127.0.0.1"
    port: int = 8700
    session_hours: float = 8.0
    secure_cookie: bool = False
    login_max_failures: int = 5
    login_window: float = 900.0
    page_size: int = 50
    #: The environment of crawls started from the console: this console's ADWATCH_* settings, so they crawl into
    #: the same store with the same profiles.
    crawl_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> ConsoleConfig:
        base = AdWatchConfig.from_settings(settings)
        evidence = EvidenceConfig.from_settings(settings)
        config = cls(
            base=base,
            index=IndexConfig.from_settings(settings),
            evidence=evidence,
            monitor=MonitorConfig.from_settings(settings),
            schedule=ScheduleConfig.from_settings(settings),
            db_path=evidence.cases_db_path,  # the console's database holds the one case register
            host=settings.get("ADWATCH_CONSOLE_HOST") or "127.0.0.1",
            port=settings.getint("ADWATCH_CONSOLE_PORT"),
            session_hours=settings.getfloat("ADWATCH_CONSOLE_SESSION_HOURS"),
            secure_cookie=settings.getbool("ADWATCH_CONSOLE_SECURE_COOKIE"),
            login_max_failures=settings.getint("ADWATCH_CONSOLE_LOGIN_MAX_FAILURES"),
            login_window=settings.getfloat("ADWATCH_CONSOLE_LOGIN_WINDOW"),
            page_size=settings.getint("ADWATCH_CONSOLE_PAGE_SIZE"),
            crawl_env=settings_environment(settings),
        )
        config.check()
        return config

    def check(self) -> None:
        if self.session_hours <= 0:
            raise ConsoleConfigError(f"ADWATCH_CONSOLE_SESSION_HOURS must be positive, got {self.session_hours}")
        if self.login_max_failures < 1 or self.login_window <= 0:
            raise ConsoleConfigError("ADWATCH_CONSOLE_LOGIN_MAX_FAILURES must be ≥ 1 and _LOGIN_WINDOW > 0")
        if not 1 <= self.page_size <= 500:
            raise ConsoleConfigError(f"ADWATCH_CONSOLE_PAGE_SIZE must be 1–500, got {self.page_size}")


def settings_environment(settings: BaseSettings) -> dict[str, str]:
    """This process's environment with every ADWATCH_* setting as crawler/settings.py reads it back (JSON for
    lists and mappings, ``true``/``false`` for flags)."""
    env = dict(os.environ)
    for name, value in settings.copy_to_dict().items():
        if name.startswith("ADWATCH_"):
            env[name] = _as_text(value)
    return env


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)

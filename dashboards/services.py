"""Everything the console's routes use, opened once per server: the databases, the backend and the vocabulary."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from crawler.monitor import MonitorStore
from crawler.profiles import load_profiles
from dashboards.accounts import Accounts
from dashboards.catalog import Catalog, catalog
from dashboards.config import ConsoleConfig
from dashboards.db import ConsoleDB
from dashboards.decisions import Workflow
from evidence.ondemand import capture_missing
from evidence.store import EvidenceStore
from indexer.backend import AdIndex
from indexer.backends import open_index
from indexer.sqlite import SqliteStore
from scheduler import RunStore, make_engine

UNASSIGNED_DISTRICT = "未划分"


@dataclass
class Sites:
    """Each profile's display title and district bureau (辖区分局), for labels and the district filter."""

    titles: dict[str, str] = field(default_factory=dict)
    districts: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_profiles(cls, profile_dirs: list[Path]) -> Sites:
        profiles = load_profiles(profile_dirs)
        return cls({name: p.title or name for name, p in profiles.items()},
                   {name: p.district or UNASSIGNED_DISTRICT for name, p in profiles.items()},
                   {name: p.group for name, p in profiles.items()})

    def in_district(self, district: str) -> tuple[str, ...]:
        return tuple(sorted(site for site, d in self.districts.items() if d == district))

    @property
    def district_names(self) -> list[str]:
        return sorted(set(self.districts.values()))


class Services:
    """Opened when the server starts (in its event-loop thread), closed when it stops."""

    def __init__(self, config: ConsoleConfig) -> None:
        self.config = config
        self.catalog: Catalog = catalog()
        self.sites = Sites.from_profiles(config.base.profile_dirs)
        self.db = ConsoleDB(config.db_path)
        self.accounts = Accounts(self.db, config.session_hours, config.login_max_failures, config.login_window)
        self.store = SqliteStore(config.base.db_path)
        self.backend: AdIndex = self.store if not config.index.target.is_engine else open_index(
            config.index.target, config.index)
        self.evidence = EvidenceStore(config.evidence.db_path)
        self.workflow = Workflow(self.db, self.backend, self.store, self.catalog, self.evidence,
                                 partial(capture_missing, config.evidence))
        self.workflow.register.adopt_legacy(self.evidence)
        self.monitor = MonitorStore(config.monitor.db_path)
        self.schedule_engine = make_engine(config.schedule.db_url)
        self.runs = RunStore(self.schedule_engine)
        #: Crawls this console started (``python -m scheduler trigger``), reaped as they end.
        self.launched: list[subprocess.Popen[bytes]] = []

    def reap(self) -> None:
        self.launched = [proc for proc in self.launched if proc.poll() is None]

    def close(self) -> None:
        self.schedule_engine.dispose()
        self.monitor.close()
        if self.backend is not self.store:
            self.backend.close()
        self.evidence.close()
        self.store.close()
        self.db.close()

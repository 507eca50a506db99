"""AdWatch's settings, read once into a typed object (see crawler/settings.py for defaults)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scrapy.settings import BaseSettings, Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def project_settings(overrides: dict[str, Any] | None = None) -> Settings:
    """Scrapy settings from crawler/settings.py (with environment overrides) plus ``overrides``."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    if overrides:
        settings.setdict(overrides, priority="cmdline")
    return settings


def _project_path(value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else PROJECT_ROOT / path


@dataclass(frozen=True)
class AdWatchConfig:
    data_dir: Path
    db_path: Path
    raw_dir: Path
    profile_dirs: list[Path]
    rules_dir: Path | None
    base_urls: dict[str, str] = field(default_factory=dict)
    store_batch_size: int = 50

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> AdWatchConfig:
        data_dir = Path(settings.get("ADWATCH_DATA_DIR") or "data")
        rules_dir = settings.get("ADWATCH_RULES_DIR")
        return cls(
            data_dir=data_dir,
            db_path=Path(settings.get("ADWATCH_DB_PATH") or data_dir / "adwatch.db"),
            raw_dir=Path(settings.get("ADWATCH_RAW_DIR") or data_dir / "raw"),
            profile_dirs=[_project_path(d) for d in settings.getlist("ADWATCH_PROFILE_DIRS")],
            rules_dir=_project_path(rules_dir) if rules_dir else None,
            base_urls=dict(settings.getdict("ADWATCH_BASE_URLS")),
            store_batch_size=settings.getint("ADWATCH_STORE_BATCH_SIZE"),
        )

"""Evidence settings, read once (defaults in crawler/settings.py, documented in README.md)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from scrapy.settings import BaseSettings

from crawler.config import AdWatchConfig
from crawler.exceptions import EvidenceError


@dataclass(frozen=True)
class EvidenceConfig:
    enabled: bool
    evidence_dir: Path
    db_path: Path
    data_dir: Path
    raw_dir: Path
    browser: str
    concurrency: int = 2
    page_timeout: float = 15.0
    screenshot: bool = True
    sites: frozenset[str] = field(default_factory=frozenset)
    signing_key: Path | None = None
    tsa_url: str = ""
    #: The case register's database (the console's, :mod:`dashboards.cases`): ``ADWATCH_CONSOLE_DB_PATH``.
    cases_db_path: Path = Path("console.db")
    #: The public keys (PEM files) whose signature a bundle may carry: the bureau's, pinned; the signing key's too.
    trusted_keys: tuple[Path, ...] = ()

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> EvidenceConfig:
        """Read every ADWATCH_EVIDENCE_* setting; raise EvidenceError on a contradiction."""
        base = AdWatchConfig.from_settings(settings)
        key = settings.get("ADWATCH_EVIDENCE_SIGNING_KEY") or ""
        config = cls(
            enabled=settings.getbool("ADWATCH_EVIDENCE_ENABLED"),
            evidence_dir=Path(settings.get("ADWATCH_EVIDENCE_DIR") or base.data_dir / "evidence"),
            db_path=base.db_path,
            data_dir=base.data_dir,
            raw_dir=base.raw_dir,
            browser=settings.get("ADWATCH_EVIDENCE_BROWSER") or "chromium",
            concurrency=settings.getint("ADWATCH_EVIDENCE_CONCURRENCY"),
            page_timeout=settings.getfloat("ADWATCH_EVIDENCE_PAGE_TIMEOUT"),
            screenshot=settings.getbool("ADWATCH_EVIDENCE_SCREENSHOT_ENABLED"),
            sites=frozenset(settings.getlist("ADWATCH_EVIDENCE_SITES")),
            signing_key=Path(key) if key else None,
            tsa_url=settings.get("ADWATCH_EVIDENCE_TSA_URL") or "",
            cases_db_path=Path(settings.get("ADWATCH_CONSOLE_DB_PATH") or base.data_dir / "console.db"),
            trusted_keys=tuple(Path(p) for p in settings.getlist("ADWATCH_EVIDENCE_TRUSTED_KEYS")),
        )
        config.check()
        return config

    def check(self) -> None:
        if self.concurrency < 1:
            raise EvidenceError(f"ADWATCH_EVIDENCE_CONCURRENCY must be at least 1, got {self.concurrency}")
        if self.page_timeout <= 0:
            raise EvidenceError(f"ADWATCH_EVIDENCE_PAGE_TIMEOUT must be positive, got {self.page_timeout}")
        missing = [str(path) for path in self.trusted_keys if not path.is_file()]
        if missing:
            raise EvidenceError(f"ADWATCH_EVIDENCE_TRUSTED_KEYS: 公钥文件不存在 no such key file: {', '.join(missing)}")
        if self.tsa_url and urlsplit(self.tsa_url).scheme not in ("http", "https"):
            raise EvidenceError(f"ADWATCH_EVIDENCE_TSA_URL must be an http(s) URL, got {self.tsa_url!r}")

    def captures(self, site: str) -> bool:
        """Whether flagged ads of ``site`` get evidence (all sites when ADWATCH_EVIDENCE_SITES is empty)."""
        return not self.sites or site in self.sites

    def browser_path(self) -> str | None:
        """The Chromium executable: ADWATCH_EVIDENCE_BROWSER as a path, or looked up on PATH; None if absent."""
        if Path(self.browser).is_file():
            return self.browser
        return shutil.which(self.browser)

"""Where hits are indexed, read once from the ADWATCH_INDEX* settings (defaults in crawler/settings.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from scrapy.settings import BaseSettings

from crawler.exceptions import AdWatchError

#: URL scheme prefix → engine.
ENGINES = {"opensearch": "opensearch", "es": "es", "elasticsearch": "es"}


class IndexConfigError(AdWatchError):
    """ADWATCH_INDEX* settings that cannot work together."""


@dataclass(frozen=True)
class IndexTarget:
    """A parsed ``ADWATCH_INDEX``: ``sqlite`` with a path, or an engine with its HTTP(S) URL."""

    kind: str
    location: str

    @property
    def is_engine(self) -> bool:
        return self.kind != "sqlite"


def parse_index_url(url: str, default_db: Path | str) -> IndexTarget:
    """Parse ``ADWATCH_INDEX``; empty means the SQLite store.

    ``sqlite:///data/adwatch.db`` | ``opensearch+http://host:9200`` | ``es+https://user:pw@host:9200``
    """
    url = url.strip()
    if not url:
        return IndexTarget("sqlite", str(default_db))
    scheme, _, rest = url.partition("://")
    if scheme == "sqlite":
        return IndexTarget("sqlite", rest[1:] if rest.startswith("/") else rest or str(default_db))
    engine, plus, transport = scheme.partition("+")
    if engine not in ENGINES or not plus or transport not in ("http", "https"):
        raise IndexConfigError(
            f"ADWATCH_INDEX={url!r}: expected sqlite:///PATH, opensearch+http(s)://HOST:PORT or es+http(s)://HOST:PORT")
    if not urlsplit(f"{transport}://{rest}").hostname:
        raise IndexConfigError(f"ADWATCH_INDEX={url!r}: no host")
    return IndexTarget(ENGINES[engine], f"{transport}://{rest}")


@dataclass(frozen=True)
class IndexConfig:
    enabled: bool
    target: IndexTarget
    prefix: str
    batch_size: int
    replicas: int
    timeout: float
    max_retries: int
    retry_interval: float
    journal_path: Path
    ledger_path: Path

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> IndexConfig:
        data_dir = Path(settings.get("ADWATCH_DATA_DIR") or "data")
        db_path = settings.get("ADWATCH_DB_PATH") or data_dir / "adwatch.db"
        config = cls(
            enabled=settings.getbool("ADWATCH_INDEX_ENABLED"),
            target=parse_index_url(settings.get("ADWATCH_INDEX") or "", db_path),
            prefix=settings.get("ADWATCH_INDEX_PREFIX") or "adwatch",
            batch_size=settings.getint("ADWATCH_INDEX_BATCH_SIZE"),
            replicas=settings.getint("ADWATCH_INDEX_REPLICAS"),
            timeout=settings.getfloat("ADWATCH_INDEX_TIMEOUT"),
            max_retries=settings.getint("ADWATCH_INDEX_MAX_RETRIES"),
            retry_interval=settings.getfloat("ADWATCH_INDEX_RETRY_INTERVAL"),
            journal_path=Path(settings.get("ADWATCH_INDEX_JOURNAL_PATH") or data_dir / "index-journal.db"),
            ledger_path=Path(settings.get("ADWATCH_INDEX_LEDGER_PATH") or data_dir / "index-ledger.db"),
        )
        config.check()
        return config

    def check(self) -> None:
        """Reject settings that contradict each other or cannot work, at start-up."""
        if self.batch_size < 1:
            raise IndexConfigError(f"ADWATCH_INDEX_BATCH_SIZE must be at least 1, got {self.batch_size}")
        if self.replicas < 0 or self.max_retries < 0 or self.timeout <= 0 or self.retry_interval < 0:
            raise IndexConfigError("ADWATCH_INDEX_REPLICAS, _MAX_RETRIES and _RETRY_INTERVAL must be ≥ 0, "
                                   "ADWATCH_INDEX_TIMEOUT > 0")
        if not self.prefix.islower() or not self.prefix.replace("-", "").replace("_", "").isalnum():
            raise IndexConfigError(f"ADWATCH_INDEX_PREFIX must be lowercase letters, digits, - or _: {self.prefix!r}")

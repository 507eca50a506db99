"""Open the backend ``ADWATCH_INDEX`` names: the SQLite store, OpenSearch or Elasticsearch."""

from __future__ import annotations

from pathlib import Path

from indexer.backend import AdIndex
from indexer.clients import make_client
from indexer.config import IndexConfig, IndexTarget
from indexer.engine import EngineIndex
from indexer.ledger import Ledger
from indexer.sqlite import SqliteStore


def open_engine(target: IndexTarget, config: IndexConfig | None = None, **overrides: object) -> EngineIndex:
    """An :class:`EngineIndex` for an engine target, configured from ``config`` (or defaults)."""
    options: dict[str, object] = {"prefix": "adwatch", "replicas": 1, "max_retries": 3}
    if config is not None:
        options.update(prefix=config.prefix, replicas=config.replicas, max_retries=config.max_retries,
                       ledger=Ledger(config.ledger_path))
    options.update(overrides)
    timeout = config.timeout if config is not None else 10
    client = make_client(target.kind, target.location, timeout=timeout)
    return EngineIndex(client, **options)  # type: ignore[arg-type]


def open_index(target: IndexTarget, config: IndexConfig | None = None, **overrides: object) -> AdIndex:
    """The backend for ``target``: the embedded store for ``sqlite``, else the engine."""
    if not target.is_engine:
        return SqliteStore(Path(target.location))
    return open_engine(target, config, **overrides)

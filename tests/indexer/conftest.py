"""Backends for the conformance suite: SQLite, a real OpenSearch node and a real Elasticsearch node.

The nodes are the session's (``opensearch_node`` and ``es_node`` in tests/conftest.py).
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from indexer.backend import AdIndex
from indexer.clients import EngineClient
from indexer.engine import EngineIndex
from indexer.ledger import Ledger
from indexer.sqlite import SqliteStore
from tests.conftest import ENGINES
from tests.support.engines import EngineNode

_prefixes = itertools.count()
BACKENDS = ("sqlite", *ENGINES)


def unique_prefix(kind: str) -> str:
    return f"t{next(_prefixes)}-{kind}"


def engine_index(client: EngineClient, **options: object) -> EngineIndex:
    """An engine backend on its own index prefix, quick to retry, no replicas (one node)."""
    defaults = {"prefix": unique_prefix(client.engine), "replicas": 0, "backoff": 0.05}
    return EngineIndex(client, **{**defaults, **options})  # type: ignore[arg-type]


def drop(index: EngineIndex) -> None:
    index.remove()


@contextmanager
def fresh_index(node: EngineNode) -> Iterator[EngineIndex]:
    """An initialised, empty index on ``node`` under its own prefix, with its write ledger, dropped afterwards."""
    with tempfile.TemporaryDirectory(prefix="adwatch-ledger-") as folder:
        index = engine_index(node.client(), ledger=Ledger(Path(folder) / "index-ledger.db"))
        index.init()
        try:
            yield index
        finally:
            drop(index)
            index.close()


@pytest.fixture
def engine_backend(engine_node: EngineNode) -> Iterator[EngineIndex]:
    """Each real engine in turn, empty."""
    with fresh_index(engine_node) as index:
        yield index


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AdIndex]:
    """Each backend in turn, empty."""
    if request.param == "sqlite":
        store = SqliteStore(tmp_path / "adwatch.db")
        yield store
        store.close()
        return
    with fresh_index(request.getfixturevalue(f"{request.param}_node")) as index:
        yield index

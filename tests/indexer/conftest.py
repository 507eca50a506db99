"""Backends for the conformance suite: SQLite, a real OpenSearch node, and ES if one is named.

The OpenSearch node is the session's (``opensearch_node`` in tests/conftest.py).
``ADWATCH_TEST_ES_URL=http://host:9200`` adds a run of the same suite against
that Elasticsearch.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.backend import AdIndex
from indexer.clients import ElasticsearchClient, OpenSearchClient
from indexer.engine import EngineIndex
from indexer.sqlite import SqliteStore
from indexer.testing import OpenSearchNode

_prefixes = itertools.count()
ES_URL = os.environ.get("ADWATCH_TEST_ES_URL", "")
BACKENDS = ["sqlite", "opensearch", pytest.param("es", marks=pytest.mark.skipif(
    not ES_URL, reason="set ADWATCH_TEST_ES_URL to run the suite against Elasticsearch"))]


def unique_prefix(kind: str) -> str:
    return f"t{next(_prefixes)}-{kind}"


def engine_index(client: OpenSearchClient | ElasticsearchClient, **options: object) -> EngineIndex:
    """An engine backend on its own index prefix, quick to retry, no replicas (one node)."""
    defaults = {"prefix": unique_prefix(client.engine), "replicas": 0, "backoff": 0.05}
    return EngineIndex(client, **{**defaults, **options})  # type: ignore[arg-type]


def drop(index: EngineIndex) -> None:
    prefix = index.names.prefix
    index.client.request("DELETE", f"/{prefix}-*", params={"expand_wildcards": "all"}, ignore=(404,))
    index.client.request("DELETE", f"/_index_template/{prefix}-*", ignore=(404,))


@pytest.fixture
def opensearch_index(opensearch_node: OpenSearchNode) -> Iterator[EngineIndex]:
    index = engine_index(OpenSearchClient(opensearch_node.url))
    index.init()
    yield index
    drop(index)
    index.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AdIndex]:
    """Each backend in turn, empty."""
    if request.param == "sqlite":
        store = SqliteStore(tmp_path / "adwatch.db")
        yield store
        store.close()
        return
    node_url = request.getfixturevalue("opensearch_node").url if request.param == "opensearch" else ES_URL
    client = OpenSearchClient(node_url) if request.param == "opensearch" else ElasticsearchClient(ES_URL)
    index = engine_index(client)
    index.init()
    yield index
    drop(index)
    index.close()

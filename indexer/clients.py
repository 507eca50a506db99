"""Thin adapters over the two official clients: ``opensearch-py`` and ``elasticsearch`` (8.x, talks to ES 8 and 9).

Each adapter only carries the bodies built in ``indexer/bodies.py`` and turns
the client's errors into AdWatch's: :class:`EngineUnavailable` (unreachable,
overloaded: retry later) or :class:`EngineError` (refused: fix something).
The ``elasticsearch`` client refuses to talk to OpenSearch by design, hence two.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit, urlunsplit

import orjson

from crawler.exceptions import EngineError, EngineUnavailable

#: What the indexer reads of a ``_bulk`` answer (items come back in request order): the engine
#: leaves out versions, sequence numbers and shard counts, a third of a successful answer.
BULK_FILTER = "errors,items.*.status,items.*.error"

#: HTTP statuses that mean "try again later" rather than "this request is wrong".
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class EngineClient(Protocol):
    engine: str

    def request(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None,
                ignore: Collection[int] = ()) -> Any:
        """One REST call; returns the decoded body, or ``None`` for an ignored status."""

    def bulk(self, body: bytes) -> dict[str, Any]:
        """One ``_bulk`` request: alternating action and source lines, already serialised (UTF-8 NDJSON)."""

    def close(self) -> None: ...


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``https://user:pw@host:9200`` → (``https://host:9200``, (user, pw))."""
    parts = urlsplit(url)
    if not parts.username:
        return url, None
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return clean, (unquote(parts.username), unquote(parts.password or ""))


def translate(status: int | None, detail: Any, what: str) -> Exception:
    """A client error as EngineUnavailable (no status, or a retryable one) or EngineError."""
    if status is None or status in RETRYABLE_STATUSES:
        return EngineUnavailable(f"{what}: {status or 'no answer'} {detail}")
    return EngineError(f"{what}: HTTP {status} {detail}")


def ndjson(actions: Sequence[dict[str, Any]]) -> bytes:
    """Lines of JSON in UTF-8, as ``_bulk`` takes them (orjson: the indexer serialises every document once)."""
    return b"".join(orjson.dumps(line) + b"\n" for line in actions)


class OpenSearchClient:
    """``opensearch-py`` behind the :class:`EngineClient` calls."""

    engine = "opensearch"

    def __init__(self, url: str, timeout: float = 10, max_retries: int = 2) -> None:
        from opensearchpy import OpenSearch

        host, auth = split_credentials(url)
        self.client = OpenSearch(hosts=[host], http_auth=auth, timeout=timeout, max_retries=max_retries,
                                 retry_on_timeout=True, http_compress=False)

    def request(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None,
                ignore: Collection[int] = ()) -> Any:
        from opensearchpy.exceptions import ConnectionError as ClientConnectionError
        from opensearchpy.exceptions import TransportError

        try:
            return self.client.transport.perform_request(method, path, params=params, body=body)
        except ClientConnectionError as exc:
            raise EngineUnavailable(f"{method} {path}: {exc}") from exc
        except TransportError as exc:
            status = exc.status_code if isinstance(exc.status_code, int) else None
            if status in ignore:
                return None
            raise translate(status, exc.info, f"{method} {path}") from exc

    def bulk(self, body: bytes) -> dict[str, Any]:
        return self.request("POST", "/_bulk", body=body, params={"filter_path": BULK_FILTER})

    def close(self) -> None:
        self.client.close()


class ElasticsearchClient:
    """The official ``elasticsearch`` client (8.x, REST-compatible with ES 8 and 9) behind the same calls."""

    engine = "es"
    _JSON = {"accept": "application/json", "content-type": "application/json"}

    def __init__(self, url: str, timeout: float = 10, max_retries: int = 2) -> None:
        from elasticsearch import Elasticsearch

        host, auth = split_credentials(url)
        self.client = Elasticsearch(hosts=[host], basic_auth=auth, request_timeout=timeout,
                                    max_retries=max_retries, retry_on_timeout=True)

    def request(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None,
                ignore: Collection[int] = ()) -> Any:
        from elastic_transport import ConnectionError as ClientConnectionError
        from elasticsearch import ApiError

        try:
            response = self.client.perform_request(method, path, params=params, headers=self._JSON,
                                                   body=body)
        except ClientConnectionError as exc:
            raise EngineUnavailable(f"{method} {path}: {exc}") from exc
        except ApiError as exc:
            if exc.meta.status in ignore:
                return None
            raise translate(exc.meta.status, exc.body, f"{method} {path}") from exc
        if method == "HEAD":  # answered with a status, never raised: True or False, as opensearch-py does
            return response.meta.status < 300
        return response.body

    def bulk(self, body: bytes) -> dict[str, Any]:
        from elastic_transport import ConnectionError as ClientConnectionError
        from elasticsearch import ApiError

        try:
            return self.client.bulk(operations=body, filter_path=BULK_FILTER).body
        except ClientConnectionError as exc:
            raise EngineUnavailable(f"POST /_bulk: {exc}") from exc
        except ApiError as exc:
            raise translate(exc.meta.status, exc.body, "POST /_bulk") from exc

    def close(self) -> None:
        self.client.close()


def make_client(engine: str, url: str, timeout: float = 10, max_retries: int = 2) -> EngineClient:
    """The adapter for ``engine`` (``opensearch`` or ``es``)."""
    if engine == "opensearch":
        return OpenSearchClient(url, timeout, max_retries)
    if engine == "es":
        return ElasticsearchClient(url, timeout, max_retries)
    raise ValueError(f"unknown engine {engine!r}")

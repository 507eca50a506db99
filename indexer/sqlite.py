"""The embedded store: SQLite in WAL mode, with FTS5 full-text search: character trigrams match, jieba words rank.

It holds every ad with its versions (a new version only when the content hash
changes), every rule hit with its review status, and a record of each crawl
run.  Writes happen in transactions, so an interrupted write leaves the
database as it was before it; WAL mode lets the console read while a crawl
writes.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.exceptions import StoreError
from crawler.items import AdItem, document_text
from indexer.highlight import mark_fragments, query_words
from indexer.query import SearchText, parse
from indexer.tokenize import fold, token_string, tokens

if TYPE_CHECKING:
    from indexer.backend import AdQuery, AdResults, HitQuery, HitResults, IndexResult, Review

SCHEMA_VERSION = 1

#: The Beijing-time date of a UTC timestamp column (UTC+8 all year): the day hits are counted in, as
#: :func:`indexer.documents.report_day` does for the search engine.
REPORT_DAY = "date({}, '+8 hours')"

SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ads (
    id INTEGER PRIMARY KEY,
    canonical_url TEXT NOT NULL UNIQUE,
    site TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    seen_count INTEGER NOT NULL DEFAULT 1,
    current_version INTEGER
);
CREATE INDEX IF NOT EXISTS ads_site ON ads(site);
CREATE TABLE IF NOT EXISTS ad_versions (
    id INTEGER PRIMARY KEY,
    ad_id INTEGER NOT NULL REFERENCES ads(id),
    content_hash TEXT NOT NULL,
    url TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    prices TEXT NOT NULL,
    price_texts TEXT NOT NULL,
    seller TEXT NOT NULL,
    category_hints TEXT NOT NULL,
    image_alts TEXT NOT NULL,
    categories TEXT NOT NULL,
    risk REAL NOT NULL,
    fetched_at TEXT NOT NULL,
    http_status INTEGER NOT NULL,
    raw_ref TEXT NOT NULL,
    encoding_doubt TEXT NOT NULL DEFAULT '',
    UNIQUE (ad_id, content_hash)
);
CREATE TABLE IF NOT EXISTS hits (
    id TEXT PRIMARY KEY,
    ad_id INTEGER NOT NULL REFERENCES ads(id),
    version_id INTEGER NOT NULL REFERENCES ad_versions(id),
    site TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    law TEXT NOT NULL,
    article TEXT NOT NULL,
    article_key TEXT NOT NULL,
    severity TEXT NOT NULL,
    category TEXT NOT NULL,
    matched TEXT NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    explanation TEXT NOT NULL,
    penalty TEXT NOT NULL,
    created_at TEXT NOT NULL,
    review_status TEXT NOT NULL DEFAULT 'pending',
    reviewer TEXT,
    review_reason TEXT,
    reviewed_at TEXT
);
CREATE INDEX IF NOT EXISTS hits_version ON hits(version_id);
CREATE INDEX IF NOT EXISTS hits_site_article ON hits(site, article_key);
CREATE VIRTUAL TABLE IF NOT EXISTS ads_fts USING fts5(title, body, tokenize = 'unicode61');
CREATE VIRTUAL TABLE IF NOT EXISTS ads_grams USING fts5(document, tokenize = 'trigram case_sensitive 1');
CREATE TABLE IF NOT EXISTS crawl_runs (
    id INTEGER PRIMARY KEY,
    site TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    finish_reason TEXT NOT NULL,
    pages INTEGER NOT NULL,
    items INTEGER NOT NULL,
    new_versions INTEGER NOT NULL,
    unchanged INTEGER NOT NULL,
    hits INTEGER NOT NULL,
    errors INTEGER NOT NULL
);
"""

#: Columns added to a table after stores were first created, as (table, column, definition): a store
#: opened without one gets it by ALTER TABLE, its old rows the column's default.
ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (("ad_versions", "encoding_doubt", "TEXT NOT NULL DEFAULT ''"),)

#: Version of what ``ads_grams`` holds (each version's document, folded): a store whose ``schema_meta`` names
#: another (or none: made before the table existed) has the table filled afresh when it is opened.
GRAMS_VERSION = "1"

#: Terms shorter than a trigram are looked for with ``instr`` over the folded documents (a scan, no index).
TRIGRAM = 3


@dataclass(frozen=True)
class SaveOutcome:
    """What storing one item did: ``new`` ad, ``changed`` ad (new version) or ``unchanged``."""

    status: str
    ad_id: int
    version_id: int
    hit_ids: tuple[str, ...] = ()


def hit_id(canonical_url: str, content_hash: str, rule_id: str, start: int) -> str:
    """Stable id of a hit: the same ad content, rule and place give the same id on every crawl."""
    key = "\x1f".join((canonical_url, content_hash, rule_id, str(start)))
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:20]


#: Stored ad versions with their ad's URL and site: the rows :meth:`SqliteStore._item_from_row` reads.
_VERSION_ROWS = "SELECT a.canonical_url, a.site, v.* FROM ad_versions v JOIN ads a ON a.id = v.ad_id"

def _row_id(cursor: sqlite3.Cursor) -> int:
    """The rowid an INSERT just made (``lastrowid`` is typed optional: it is ``None`` only after other statements)."""
    row_id = cursor.lastrowid
    if row_id is None:  # pragma: no cover - an INSERT always sets it
        raise sqlite3.InterfaceError("INSERT reported no rowid")
    return row_id


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _stored_document(title: str, body: str, image_alts: str) -> str:
    """:func:`document_text` of a stored row (alts as JSON), registered in SQL as ``adwatch_document``."""
    return document_text(title, body, json.loads(image_alts))


#: A version's document in SQL (``v`` is the ``ad_versions`` row).
_DOCUMENT_SQL = "adwatch_document(v.title, v.body, v.image_alts)"


_HIT_SELECT = f"""SELECT h.id AS hit_id, a.canonical_url, v.url, h.site, v.title, v.seller, v.content_hash,
    h.rule_id, h.law, h.article, h.article_key, h.severity, h.category, h.matched, h.start, h."end",
    h.explanation, h.penalty, v.risk, v.fetched_at, {REPORT_DAY.format('v.fetched_at')} AS day, v.raw_ref,
    (a.current_version = h.version_id) AS current, h.review_status, h.reviewer, h.review_reason, h.reviewed_at
    FROM hits h JOIN ads a ON a.id = h.ad_id JOIN ad_versions v ON v.id = h.version_id"""

_HIT_FILTERS = (
    ("sites", "h.site"),
    ("articles", "h.article_key"),
    ("rule_ids", "h.rule_id"),
    ("severities", "h.severity"),
    ("categories", "h.category"),
    ("statuses", "h.review_status"),
    ("hit_ids", "h.id"),
    ("canonical_urls", "a.canonical_url"),
    ("sellers", "v.seller"),
)

_VERSION_SELECT = """SELECT v.id AS version_id, v.content_hash, v.fetched_at, v.url, v.title, v.body, v.seller,
    v.prices, v.image_alts, (a.current_version = v.id) AS current FROM ad_versions v JOIN ads a ON a.id = v.ad_id"""

_AD_COLUMNS = """a.canonical_url, a.site, v.url, v.title, v.body, v.image_alts, v.seller, v.risk, v.fetched_at,
    v.categories, (SELECT count(*) FROM hits h WHERE h.version_id = v.id) AS hit_count"""

_REVIEW_COLUMNS = ("review_status", "reviewer", "review_reason", "reviewed_at")


def _hit_dict(row: sqlite3.Row) -> dict[str, Any]:
    from indexer.documents import ad_key

    hit = dict(row)
    hit["current"] = bool(hit["current"])
    hit["ad_key"] = ad_key(hit["canonical_url"])
    return hit


def _version_dict(row: sqlite3.Row) -> dict[str, Any]:
    version = dict(row)
    version["prices"], version["image_alts"] = json.loads(row["prices"]), json.loads(row["image_alts"])
    version["document"] = document_text(row["title"], row["body"], version["image_alts"])
    version["current"] = bool(row["current"])
    return version


def _fts_string(term: str) -> str:
    """``term`` as one FTS5 string (a phrase: its tokens in a row), whatever FTS5 syntax it holds."""
    return '"' + term.replace('"', '""') + '"'


def _term_condition(column: str, term: str) -> tuple[str, list[Any]]:
    """The versions (``column`` holds a version id) whose folded document holds ``term``.

    A trigram phrase is exactly a substring; a term too short for a trigram is a scan with ``instr``.
    """
    if len(term) >= TRIGRAM:
        return f"{column} IN (SELECT rowid FROM ads_grams WHERE ads_grams MATCH ?)", [_fts_string(term)]
    return f"{column} IN (SELECT rowid FROM ads_grams WHERE instr(document, ?) > 0)", [term]


def _search_condition(column: str, search: SearchText) -> tuple[str, list[Any]]:
    """SQL for a parsed query: every group (any of its terms) held, no excluded term held."""
    parts, params = [], []
    for group in search.groups:
        alternatives = [_term_condition(column, term) for term in group]
        parts.append("(" + " OR ".join(sql for sql, _ in alternatives) + ")")
        params += [param for _, values in alternatives for param in values]
    for term in search.excluded:
        sql, values = _term_condition(column, term)
        parts.append(f"NOT {sql}")
        params += values
    return " AND ".join(parts) or "0", params


def _text_condition(column: str, text: str) -> tuple[str, list[Any]]:
    """The condition for a query's text; a text with nothing to look for matches nothing."""
    search = parse(text)
    return ("0", []) if search.empty else _search_condition(column, search)


def _rank_words(search: SearchText) -> str | None:
    """An FTS5 query over the jieba index for any word of the wanted terms (ranking only), or ``None``."""
    words = list(dict.fromkeys(word for term in search.wanted for word in tokens(term)))
    return " OR ".join(_fts_string(word) for word in words) or None


#: ORDER BY of each ad sort; ``r.score`` is the bm25 of the wanted terms' jieba words (lower is better).
_AD_ORDER = {"relevance": "coalesce(r.score, 0), v.fetched_at DESC, a.canonical_url",
             "time": "v.fetched_at DESC, a.canonical_url", "risk": "v.risk DESC, a.canonical_url"}

#: Ad filters over the current version ``v``: attribute of the query → SQL taking the values' placeholders.
_AD_FILTERS = (
    ("sites", "a.site IN ({})"),
    ("categories", "EXISTS (SELECT 1 FROM json_each(v.categories) c WHERE c.value IN ({}))"),
    ("articles", "EXISTS (SELECT 1 FROM hits h WHERE h.version_id = v.id AND h.article_key IN ({}))"),
    ("statuses", "EXISTS (SELECT 1 FROM hits h WHERE h.version_id = v.id AND h.review_status IN ({}))"),
)


def _day_conditions(column: str, day_from: str, day_to: str) -> tuple[list[str], list[Any]]:
    """A fetch time's Beijing date within the bounds given."""
    conditions, params = [], []
    for operator, value in ((">=", day_from), ("<=", day_to)):
        if value:
            conditions.append(f"{REPORT_DAY.format(column)} {operator} ?")
            params.append(value)
    return conditions, params


def _ad_conditions(query: AdQuery) -> tuple[str, list[Any]]:
    """WHERE … for an ad query's text and filters over the current version ``v`` of ad ``a``."""
    conditions, params = ["v.id = a.current_version"], []
    if query.text.strip():
        sql, values = _text_condition("v.id", query.text)
        conditions.append(sql)
        params += values
    for attribute, template in _AD_FILTERS:
        values = list(getattr(query, attribute))
        if values:
            conditions.append(template.format(", ".join("?" * len(values))))
            params += values
    days, values = _day_conditions("v.fetched_at", query.day_from, query.day_to)
    return " WHERE " + " AND ".join(conditions + days), params + values


def _ad_dict(row: sqlite3.Row, words: list[str]) -> dict[str, Any]:
    from indexer.documents import ad_key

    document = _stored_document(row["title"], row["body"], row["image_alts"])
    return {"ad_key": ad_key(row["canonical_url"]), "canonical_url": row["canonical_url"], "url": row["url"],
            "site": row["site"], "title": row["title"], "seller": row["seller"], "risk": row["risk"],
            "fetched_at": row["fetched_at"], "categories": json.loads(row["categories"]),
            "hit_count": row["hit_count"], "highlight": mark_fragments(document, words)}


def _hit_conditions(query: HitQuery) -> tuple[str, list[Any]]:
    conditions, params = [], []
    for attribute, column in _HIT_FILTERS:
        values = list(getattr(query, attribute))
        if values:
            conditions.append(f"{column} IN ({', '.join('?' * len(values))})")
            params.extend(values)
    if query.current_only:
        conditions.append("a.current_version = h.version_id")
    days, values = _day_conditions("v.fetched_at", query.day_from, query.day_to)
    conditions += days
    params += values
    if query.text:
        sql, values = _text_condition("h.version_id", query.text)
        conditions.append(sql)
        params += values
    return (" WHERE " + " AND ".join(conditions)) if conditions else "", params


@contextmanager
def immediate_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any error: all of it lands or none of it."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class SqliteStore:
    """Ads, versions, hits and crawl runs in one SQLite file; also the embedded backend of the storage interface."""

    name = "sqlite"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.conn.row_factory = sqlite3.Row
            self.conn.create_function("adwatch_document", 3, _stored_document, deterministic=True)
            self.conn.create_function("adwatch_fold", 1, fold, deterministic=True)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            with self.transaction():
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
                self._add_missing_columns()
                self._fill_grams()
                self.conn.execute(
                    "INSERT OR IGNORE INTO schema_meta(key, value) VALUES ('schema_version', ?)", (SCHEMA_VERSION,)
                )
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"Cannot open the store at {self.path}: {exc}") from exc

    def _add_missing_columns(self) -> None:
        for table, column, definition in ADDED_COLUMNS:
            present = {row["name"] for row in self.conn.execute(f"PRAGMA table_info({table})")}
            if column not in present:
                self.conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")

    def _fill_grams(self) -> None:
        """Fill ``ads_grams`` from every stored version unless it holds what :data:`GRAMS_VERSION` says.

        A store made before the table existed gets it filled here, once (a fresh store: at once, being empty).
        """
        row = self.conn.execute("SELECT value FROM schema_meta WHERE key = 'grams_version'").fetchone()
        if row is not None and row["value"] == GRAMS_VERSION:
            return
        self.conn.execute("DELETE FROM ads_grams")
        self.conn.execute(f"""INSERT INTO ads_grams(rowid, document)
                              SELECT v.id, adwatch_fold({_DOCUMENT_SQL}) FROM ad_versions v""")
        self.conn.execute("INSERT OR REPLACE INTO schema_meta(key, value) VALUES ('grams_version', ?)",
                          (GRAMS_VERSION,))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate_transaction(self.conn)

    # --- writing ---

    def save_items(self, items: Iterable[AdItem]) -> list[SaveOutcome]:
        """Store a batch of checked items in one transaction."""
        prepared = [(item, token_string(item.title), token_string(item.document())) for item in items]
        with self.transaction():
            return [self._save(item, title_tokens, body_tokens) for item, title_tokens, body_tokens in prepared]

    def _save(self, item: AdItem, title_tokens: str, body_tokens: str) -> SaveOutcome:
        """Store one item: the ad, a new version (indexed by words and by folded characters) and its hits."""
        now = _now()
        row = self.conn.execute("SELECT id FROM ads WHERE canonical_url = ?", (item.canonical_url,)).fetchone()
        if row is None:
            ad_id = _row_id(
                self.conn.execute(
                    "INSERT INTO ads(canonical_url, site, first_seen, last_seen) VALUES (?, ?, ?, ?)",
                    (item.canonical_url, item.site, now, now),
                )
            )
            status = "new"
        else:
            ad_id = row["id"]
            self.conn.execute("UPDATE ads SET last_seen = ?, seen_count = seen_count + 1 WHERE id = ?", (now, ad_id))
            status = "changed"
        existing = self.conn.execute(
            "SELECT id FROM ad_versions WHERE ad_id = ? AND content_hash = ?", (ad_id, item.content_hash)
        ).fetchone()
        if existing is not None:
            self.conn.execute("UPDATE ads SET current_version = ? WHERE id = ?", (existing["id"], ad_id))
            return SaveOutcome("unchanged", ad_id, existing["id"])
        version_id = self._insert_version(ad_id, item)
        self.conn.execute(
            "INSERT INTO ads_fts(rowid, title, body) VALUES (?, ?, ?)", (version_id, title_tokens, body_tokens)
        )
        self.conn.execute("INSERT INTO ads_grams(rowid, document) VALUES (?, ?)",
                          (version_id, fold(item.document())))
        self.conn.execute("UPDATE ads SET current_version = ? WHERE id = ?", (version_id, ad_id))
        hit_ids = tuple(self._insert_hit(ad_id, version_id, item, hit, now) for hit in item.hits)
        return SaveOutcome(status, ad_id, version_id, hit_ids)

    def _insert_version(self, ad_id: int, item: AdItem) -> int:
        return _row_id(self.conn.execute(
            """INSERT INTO ad_versions(ad_id, content_hash, url, title, body, prices, price_texts, seller,
                   category_hints, image_alts, categories, risk, fetched_at, http_status, raw_ref, encoding_doubt)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                ad_id,
                item.content_hash,
                item.url,
                item.title,
                item.body,
                _json(item.prices),
                _json(item.price_texts),
                item.seller,
                _json(item.category_hints),
                _json(item.image_alts),
                _json(item.categories),
                item.risk,
                item.fetched_at,
                item.http_status,
                item.raw_ref,
                item.encoding_doubt,
            ),
        ))

    def _insert_hit(self, ad_id: int, version_id: int, item: AdItem, hit: dict[str, Any], now: str) -> str:
        identifier = hit.get("hit_id") or hit_id(item.canonical_url, item.content_hash, hit["rule_id"], hit["start"])
        self.conn.execute(
            """INSERT OR IGNORE INTO hits(id, ad_id, version_id, site, rule_id, law, article, article_key,
                   severity, category, matched, start, "end", explanation, penalty, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                identifier,
                ad_id,
                version_id,
                item.site,
                hit["rule_id"],
                hit["law"],
                hit["article"],
                hit["article_key"],
                hit["severity"],
                hit.get("category", ""),
                hit["matched"],
                hit["start"],
                hit["end"],
                hit["explanation"],
                hit.get("penalty", ""),
                now,
            ),
        )
        return identifier

    def record_run(self, run: dict[str, Any]) -> int:
        columns = (
            "site",
            "started_at",
            "finished_at",
            "finish_reason",
            "pages",
            "items",
            "new_versions",
            "unchanged",
            "hits",
            "errors",
        )
        with self.transaction():
            return _row_id(
                self.conn.execute(
                    f"INSERT INTO crawl_runs({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                    tuple(run[c] for c in columns),
                )
            )

    # --- reading ---

    def current_ads(self, sites: Iterable[str] | None = None) -> list[sqlite3.Row]:
        """The current version of every ad (of ``sites``, if given), with its ad id and canonical URL."""
        query = """SELECT a.id AS ad_id, a.canonical_url, a.site, a.seen_count, v.*
                   FROM ads a JOIN ad_versions v ON v.id = a.current_version"""
        return self._rows_for_sites(query, "a.site", sites, "ORDER BY a.id")

    def current_hits(
        self,
        sites: Iterable[str] | None = None,
        article: str | None = None,
        rule_id: str | None = None,
        status: str | None = None,
    ) -> list[sqlite3.Row]:
        """Hits on the current version of each ad, filtered; riskiest first."""
        query = """SELECT h.*, a.canonical_url, v.url, v.title FROM hits h
                   JOIN ads a ON a.current_version = h.version_id
                   JOIN ad_versions v ON v.id = h.version_id"""
        conditions, params = [], []
        for column, value in (("h.article_key", article), ("h.rule_id", rule_id), ("h.review_status", status)):
            if value:
                conditions.append(f"{column} = ?")
                params.append(value)
        return self._rows_for_sites(query, "h.site", sites, "ORDER BY v.risk DESC, h.id", conditions, params)

    def _rows_for_sites(
        self,
        query: str,
        column: str,
        sites: Iterable[str] | None,
        order: str,
        conditions: list[str] | None = None,
        params: list[Any] | None = None,
    ) -> list[sqlite3.Row]:
        conditions, params = list(conditions or []), list(params or [])
        if sites is not None:
            sites = list(sites)
            conditions.append(f"{column} IN ({', '.join('?' * len(sites))})")
            params.extend(sites)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        return self.conn.execute(f"{query}{where} {order}", params).fetchall()

    def ad_versions(self, canonical_url: str) -> list[dict[str, Any]]:
        """Every stored version of the ad, oldest first, with its document; ``current`` marks the current one."""
        rows = self.conn.execute(f"{_VERSION_SELECT} WHERE a.canonical_url = ? ORDER BY v.fetched_at, v.id",
                                 (canonical_url,))
        return [_version_dict(row) for row in rows]

    def hit_document(self, hit_id: str) -> dict[str, Any] | None:
        """The version a hit was found on (as in :meth:`ad_versions`): its offsets point into ``document``."""
        row = self.conn.execute(f"{_VERSION_SELECT} JOIN hits h ON h.version_id = v.id WHERE h.id = ?",
                                (hit_id,)).fetchone()
        return _version_dict(row) if row else None

    def counts(self) -> dict[str, int]:
        one = self.conn.execute
        return {
            "ads": one("SELECT count(*) FROM ads").fetchone()[0],
            "versions": one("SELECT count(*) FROM ad_versions").fetchone()[0],
            "hits": one("SELECT count(*) FROM hits").fetchone()[0],
            "runs": one("SELECT count(*) FROM crawl_runs").fetchone()[0],
        }

    def integrity_ok(self) -> bool:
        return bool(self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok")

    # --- the storage interface (indexer.backend.AdIndex) ---

    def init(self) -> None:
        """Nothing to do: the schema is created on open."""

    def refresh(self) -> None:
        """Nothing to do: committed writes are visible at once."""

    def index_items(self, items: Iterable[AdItem]) -> IndexResult:
        from indexer.backend import IndexResult

        outcomes = self.save_items(items)
        return IndexResult(written=len(outcomes))

    def search_hits(self, query: HitQuery) -> HitResults:
        """Hits matching ``query`` (riskiest first, then by id), with the asked aggregations."""
        from indexer.backend import AGGREGATIONS, HitResults

        where, params = _hit_conditions(query)
        matched = f"WITH matched AS ({_HIT_SELECT}{where}) "
        total = self.conn.execute(matched + "SELECT count(*) FROM matched", params).fetchone()[0]
        rows = self.conn.execute(
            matched + "SELECT * FROM matched ORDER BY risk DESC, hit_id LIMIT ? OFFSET ?",
            [*params, query.size, query.offset],
        ).fetchall()
        aggregations = {}
        for name in query.aggregations:
            column = AGGREGATIONS[name]
            counted = self.conn.execute(
                matched + f"SELECT {column}, count(*) FROM matched GROUP BY {column}", params
            ).fetchall()
            aggregations[name] = {str(value): count for value, count in counted}
        hits = [_hit_dict(row) for row in rows]
        if query.text:
            self._highlight(hits, query_words(query.text))
        return HitResults(total=total, hits=hits, aggregations=aggregations)

    def _highlight(self, hits: list[dict[str, Any]], words: list[str]) -> None:
        """Give each hit the fragments of its version's text with ``words`` marked, as the engine does."""
        if not hits:
            return
        ids = [hit["hit_id"] for hit in hits]
        documents = dict(self.conn.execute(
            f"""SELECT h.id, {_DOCUMENT_SQL} FROM hits h JOIN ad_versions v ON v.id = h.version_id
                WHERE h.id IN ({', '.join('?' * len(ids))})""", ids).fetchall())
        for hit in hits:
            hit["highlight"] = mark_fragments(documents[hit["hit_id"]], words)

    def search_ads(self, query: AdQuery) -> AdResults:
        """Search over the current version of every ad, flagged or not, in ``query.sort`` order."""
        from indexer.backend import AdResults

        if not (query.text.strip() or query.filtered):
            return AdResults(total=0)
        where, params = _ad_conditions(query)
        source = f"ads a JOIN ad_versions v ON v.id = a.current_version{where}"
        total = self.conn.execute(f"SELECT count(*) FROM {source}", params).fetchone()[0]
        words = _rank_words(parse(query.text)) if query.sort == "relevance" else None
        scores = "SELECT rowid AS version_id, bm25(ads_fts) AS score FROM ads_fts WHERE ads_fts MATCH ?"
        rank = (f" LEFT JOIN ({scores}) r ON r.version_id = v.id" if words else
                " LEFT JOIN (SELECT NULL AS version_id, NULL AS score) r ON 0")
        rows = self.conn.execute(
            f"SELECT {_AD_COLUMNS} FROM ads a JOIN ad_versions v ON v.id = a.current_version{rank}{where} "
            f"ORDER BY {_AD_ORDER[query.sort]} LIMIT ? OFFSET ?",
            [*([words] if words else []), *params, query.size, query.offset]).fetchall()
        return AdResults(total=total, ads=[_ad_dict(row, query_words(query.text)) for row in rows])

    def get_hit(self, hit_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(f"{_HIT_SELECT} WHERE h.id = ?", (hit_id,)).fetchone()
        return _hit_dict(row) if row else None

    def set_review(self, hit_id: str, review: Review) -> bool:
        """Record a reviewer's decision on a hit; ``False`` if there is no such hit."""
        with self.transaction():
            changed = self.conn.execute(
                "UPDATE hits SET review_status = ?, reviewer = ?, review_reason = ?, reviewed_at = ? WHERE id = ?",
                (review.status, review.reviewer, review.reason or None, review.reviewed_at or None, hit_id),
            ).rowcount
        return changed > 0

    def iter_items(self) -> Iterator[AdItem]:
        """Every stored version as an item with its hits and their review state; each ad's current version last."""
        versions = self.conn.execute(f"{_VERSION_ROWS} ORDER BY a.id, v.id = a.current_version, v.id")
        for row in versions:
            yield self._item_from_row(row)

    def current_items(self, ad_ids: Iterable[int]) -> list[AdItem]:
        """The current version of each of ``ad_ids`` as an item with every hit (findings stored after a crawl too)."""
        wanted = sorted(set(ad_ids))
        if not wanted:
            return []
        marks = ", ".join("?" * len(wanted))
        query = f"{_VERSION_ROWS} WHERE v.id = a.current_version AND a.id IN ({marks}) ORDER BY a.id"
        rows = self.conn.execute(query, wanted)
        return [self._item_from_row(row) for row in rows]

    def items_of_hits(self, hit_ids: Iterable[str]) -> list[AdItem]:
        """The stored ad version each hit was found on, once each, with every hit of it, in ``hit_ids`` order."""
        items: dict[int, AdItem] = {}
        for identifier in hit_ids:
            row = self.conn.execute(
                f"{_VERSION_ROWS} WHERE v.id = (SELECT version_id FROM hits WHERE id = ?)", (identifier,)
            ).fetchone()
            if row is not None and row["id"] not in items:
                items[row["id"]] = self._item_from_row(row)
        return list(items.values())

    def _item_from_row(self, row: sqlite3.Row) -> AdItem:
        item = AdItem(
            url=row["url"],
            site=row["site"],
            canonical_url=row["canonical_url"],
            title=row["title"],
            body=row["body"],
            prices=json.loads(row["prices"]),
            price_texts=json.loads(row["price_texts"]),
            seller=row["seller"],
            category_hints=json.loads(row["category_hints"]),
            image_alts=json.loads(row["image_alts"]),
            fetched_at=row["fetched_at"],
            http_status=row["http_status"],
            content_hash=row["content_hash"],
            raw_ref=row["raw_ref"],
            categories=json.loads(row["categories"]),
            risk=row["risk"],
            encoding_doubt=row["encoding_doubt"],
        )
        hits = self.conn.execute(
            """SELECT id AS hit_id, rule_id, law, article, article_key, severity, category, matched, start, "end",
                      explanation, penalty, review_status, reviewer, review_reason, reviewed_at
               FROM hits WHERE version_id = ? ORDER BY start, id""",
            (row["id"],),
        )
        item.hits = [dict(hit) for hit in hits]
        return item

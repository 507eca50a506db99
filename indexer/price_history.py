"""Every listing's prices across crawls, in the embedded store, and the price tricks found in them.

``price_observations`` gets one row per listing per crawl, whether its content
changed or not (``ad_versions`` only gets a row when it does).  Findings are
stored in the ``hits`` table against the ad's current version, with ids that
stay the same however often the same promotion is crawled.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from indexer.sqlite import SqliteStore, hit_id
from rules.price_tricks import Observation

SCHEMA = """
CREATE TABLE IF NOT EXISTS price_observations (
    id INTEGER PRIMARY KEY,
    ad_id INTEGER NOT NULL REFERENCES ads(id),
    observed_at TEXT NOT NULL,
    price REAL NOT NULL,
    reference_price REAL,
    price_texts TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS price_observations_ad ON price_observations(ad_id, observed_at);
"""


class CrawlFinding(Protocol):
    """A finding made once a crawl is over (a price trick, a market check): its rule, a stable key, its hit."""

    @property
    def rule_id(self) -> str: ...

    @property
    def key(self) -> str: ...

    def hit(self) -> dict[str, object]: ...


@dataclass(frozen=True)
class PriceSighting:
    """One listing's prices as one crawl saw them (the current price first, then the reference price)."""

    canonical_url: str
    observed_at: str
    prices: tuple[float, ...]
    price_texts: tuple[str, ...]


def split_prices(prices: Iterable[float]) -> tuple[float, float | None] | None:
    """(current, reference): the first price, and the second if it is above it (a 划线价)."""
    values = list(prices)
    if not values:
        return None
    reference = values[1] if len(values) > 1 and values[1] > values[0] else None
    return values[0], reference


def _parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class PriceHistory:
    """Price observations and price hits on top of an open :class:`SqliteStore`."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.conn = store.conn
        with store.transaction():
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self.conn.execute(statement)

    def record(self, sightings: Iterable[PriceSighting]) -> list[int]:
        """Store the sightings of stored ads (others are skipped); return the ids of the ads observed."""
        observed: list[int] = []
        with self.store.transaction():
            for sighting in sightings:
                ad_id = self._record_one(sighting)
                if ad_id is not None:
                    observed.append(ad_id)
        return list(dict.fromkeys(observed))

    def _record_one(self, sighting: PriceSighting) -> int | None:
        split = split_prices(sighting.prices)
        row = self.conn.execute("SELECT id FROM ads WHERE canonical_url = ?", (sighting.canonical_url,)).fetchone()
        if split is None or row is None:
            return None
        self.conn.execute(
            """INSERT INTO price_observations(ad_id, observed_at, price, reference_price, price_texts)
               VALUES (?, ?, ?, ?, ?)""",
            (row["id"], sighting.observed_at, split[0], split[1], json.dumps(sighting.price_texts, ensure_ascii=False)),
        )
        return row["id"]

    def history(self, ad_id: int) -> list[Observation]:
        """The ad's observations, oldest first, each with the text of the version current at the time."""
        rows = self.conn.execute(
            """SELECT o.observed_at, o.price, o.reference_price, v.title, v.body
               FROM price_observations o JOIN ads a ON a.id = o.ad_id JOIN ad_versions v ON v.id = a.current_version
               WHERE o.ad_id = ? ORDER BY o.observed_at, o.id""",
            (ad_id,),
        ).fetchall()
        return [
            Observation(_parse_time(r["observed_at"]), r["price"], r["reference_price"], f"{r['title']}\n{r['body']}")
            for r in rows
        ]

    def chart(self, ad_id: int) -> list[dict[str, object]]:
        """The price series of one ad, for a chart: time, current price, reference price."""
        rows = self.conn.execute(
            "SELECT observed_at, price, reference_price FROM price_observations WHERE ad_id = ? ORDER BY observed_at",
            (ad_id,),
        ).fetchall()
        return [{"observed_at": r[0], "price": r[1], "reference_price": r[2]} for r in rows]

    def save_findings(self, ad_id: int, findings: Iterable[CrawlFinding]) -> list[str]:
        """Store findings as hits on the ad's current version; a finding already stored keeps its id and review.

        A finding seen again moves to the current version, so ``adwatch hits`` keeps showing it.
        """
        ad = self.conn.execute("SELECT canonical_url, site, current_version FROM ads WHERE id = ?", (ad_id,)).fetchone()
        ids: list[str] = []
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self.store.transaction():
            for finding in findings:
                identifier = hit_id(ad["canonical_url"], f"price:{finding.key}", finding.rule_id, 0)
                hit = finding.hit()
                self.conn.execute(
                    """INSERT INTO hits(id, ad_id, version_id, site, rule_id, law, article, article_key,
                           severity, category, matched, start, "end", explanation, penalty, created_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT(id) DO UPDATE SET version_id = excluded.version_id""",
                    (
                        identifier,
                        ad_id,
                        ad["current_version"],
                        ad["site"],
                        hit["rule_id"],
                        hit["law"],
                        hit["article"],
                        hit["article_key"],
                        hit["severity"],
                        hit["category"],
                        hit["matched"],
                        hit["start"],
                        hit["end"],
                        hit["explanation"],
                        hit["penalty"],
                        now,
                    ),
                )
                ids.append(identifier)
        return ids

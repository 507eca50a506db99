"""Sales and review counts of listings across crawls, for the market check ``market-sales-without-reviews``.

One row per listing per crawl in ``market_counts`` (created on first use) beside the ads of the
embedded store; the findings are stored as hits through :class:`indexer.price_history.PriceHistory`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from indexer.sqlite import SqliteStore
from rules.market_findings import Counts

SCHEMA = """CREATE TABLE IF NOT EXISTS market_counts (
    ad_id INTEGER NOT NULL REFERENCES ads(id),
    observed_at TEXT NOT NULL,
    sales INTEGER NOT NULL,
    reviews INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS market_counts_ad ON market_counts(ad_id, observed_at);"""


@dataclass(frozen=True)
class CountSighting:
    canonical_url: str
    observed_at: str
    sales: int
    reviews: int


class MarketCounts:
    """Count observations on top of an open :class:`SqliteStore`."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.conn = store.conn
        self.conn.executescript(SCHEMA)

    def record(self, sightings: Iterable[CountSighting]) -> list[tuple[int, CountSighting]]:
        """Record one observation per sighting of a stored listing; each recorded sighting with its ad's id."""
        recorded: list[tuple[int, CountSighting]] = []
        with self.store.transaction():
            for sighting in sightings:
                row = self.conn.execute("SELECT id FROM ads WHERE canonical_url = ?", (sighting.canonical_url,))
                ad = row.fetchone()
                if ad is None:
                    continue
                self.conn.execute(
                    "INSERT INTO market_counts(ad_id, observed_at, sales, reviews) VALUES (?, ?, ?, ?)",
                    (ad[0], sighting.observed_at, sighting.sales, sighting.reviews),
                )
                recorded.append((ad[0], sighting))
        return recorded

    def history(self, ad_id: int) -> list[Counts]:
        rows = self.conn.execute(
            "SELECT observed_at, sales, reviews FROM market_counts WHERE ad_id = ? ORDER BY observed_at, rowid",
            (ad_id,),
        ).fetchall()
        return [Counts(row[0], row[1], row[2]) for row in rows]

"""Expected against stored, by case: what a crawl of the hostile site (sandbox/hostile.py) kept.

``python -m sandbox hostile-report DATA_DIR`` prints the table from a crawl's store; the hostile
suite (tests/sandbox/test_hostile_suite.py) asserts on the same counts.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

from crawler.urls import canonical_url
from sandbox.hostile import KEY, Truth, hostile_truth


@dataclass(frozen=True)
class StoredAd:
    text: str  # title and body
    encoding_doubt: str


@dataclass
class CaseCount:
    """One case's figures.  ``stored`` counts expected ads stored under their URL with their phrase readable;
    ``unreadable`` those stored there without it (mojibake); ``refused_stored`` ads a crawl must not store
    (robots.txt, another host, too slow) found in the store anyway; ``doubted`` expected doubts stored."""

    case: str
    pages: int = 0
    expected: int = 0
    stored: int = 0
    unreadable: int = 0
    refused: int = 0
    refused_stored: int = 0
    doubts: int = 0
    doubted: int = 0

    @property
    def missed(self) -> int:
        return self.expected - self.stored


def url_key(url: str) -> str:
    """Path and query of ``url`` in canonical form: the same for a stored URL on any port and a truth path."""
    parts = urlsplit(canonical_url(url if "//" in url else "http://hostile" + url))
    return parts.path + (f"?{parts.query}" if parts.query else "")


def stored_ads(db_path: Path) -> dict[str, StoredAd]:
    """The current version of every ad the hostile crawl stored, by :func:`url_key`."""
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            """SELECT a.canonical_url, v.title, v.body, v.encoding_doubt
               FROM ads a JOIN ad_versions v ON v.id = a.current_version WHERE a.site = ?""",
            (KEY,),
        ).fetchall()
    return {url_key(url): StoredAd(f"{title}\n{body}", doubt) for url, title, body, doubt in rows}


def count_by_case(stored: dict[str, StoredAd], truth: list[Truth] | None = None) -> list[CaseCount]:
    """Each case's figures, in the order the cases are defined."""
    counts: dict[str, CaseCount] = {}
    everything = "\n".join(ad.text for ad in stored.values())
    for place in hostile_truth() if truth is None else truth:
        count = counts.setdefault(place.case, CaseCount(place.case))
        count.pages += 1
        if not place.phrase:
            continue
        ad = stored.get(url_key(place.path))
        if not place.expected:
            count.refused += 1
            count.refused_stored += ad is not None or place.phrase in everything
            continue
        count.expected += 1
        readable = ad is not None and place.phrase in ad.text
        count.stored += readable
        count.unreadable += ad is not None and not readable
        if place.doubt:
            count.doubts += 1
            count.doubted += ad is not None and bool(ad.encoding_doubt)
    return list(counts.values())


def total(counts: list[CaseCount]) -> CaseCount:
    whole = CaseCount("total")
    for count in counts:
        for spec in fields(CaseCount):
            if spec.name != "case":
                setattr(whole, spec.name, getattr(whole, spec.name) + getattr(count, spec.name))
    return whole


COLUMNS = ("case", "pages", "expected", "stored", "missed", "unreadable", "refused", "refused_stored", "doubted")


def format_table(counts: list[CaseCount]) -> str:
    """A Markdown table, one row a case and a total; ``doubted`` as stored/expected doubts."""
    rows = [[*COLUMNS]]
    for count in [*counts, total(counts)]:
        row = [str(getattr(count, column)) for column in COLUMNS[:-1]]
        rows.append([*row, f"{count.doubted}/{count.doubts}" if count.doubts else "-"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(lines)


def report(db_path: Path) -> str:
    """The table for the hostile crawl stored in ``db_path``."""
    return format_table(count_by_case(stored_ads(db_path)))

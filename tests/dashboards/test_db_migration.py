"""A console database written before the ad became the unit of review (#15) opens, shows and keeps its decisions.

The fixture files were written by the console of commit 39af5c2: one decision per place a rule matched, one
hit per case.  The store is rebuilt from the same ads (hit ids are stable) with the review states that console
wrote into it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboards.accounts import User
from dashboards.db import MIGRATIONS
from dashboards.services import Services
from tests.dashboards.stores import CURE_CLAIM, SUPERLATIVE, checked_ad, open_services, save

DATA = Path(__file__).resolve().parent / "data"
FETCHED = "2026-11-05T02:00:00+00:00"
#: The places of the two ads as the old console's fixture names them.
DISEASE_TITLE, DISEASE_BODY, MEDICAL = "e05884a4902c0ae6125a", "2b9637c3ea7c7a5e04f0", "e995232ad1cbc367ca63"
SHIRT_1, SHIRT_2 = "69b060018dc61daa79f2", "980e3dfede2b0e31d8a5"


@pytest.fixture
def old_desk(tmp_path: Path) -> Iterator[Services]:
    with sqlite3.connect(tmp_path / "console.db") as conn:
        conn.executescript((DATA / "console-before-15.sql").read_text(encoding="utf-8"))
    with open_services(tmp_path) as services:
        cure = checked_ad("http://healthfood.test/item/1.html", "healthfood", "糖友神药", CURE_CLAIM, FETCHED)
        shirt = checked_ad("http://mall.test/item/2.html", "mall", "纯棉T恤", SUPERLATIVE, FETCHED)
        assert save(services.store, cure, shirt) == [DISEASE_TITLE, DISEASE_BODY, MEDICAL, SHIRT_1, SHIRT_2]
        services.store.conn.executescript((DATA / "store-reviews-before-15.sql").read_text(encoding="utf-8"))
        yield services


def _statuses(services: Services, *hit_ids: str) -> list[str]:
    return [services.store.get_hit(hit_id)["review_status"] for hit_id in hit_ids]


def test_the_old_file_is_migrated_on_open(old_desk: Services) -> None:
    assert old_desk.db.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert old_desk.workflow.case_hit_ids("A-2026-001") == [SHIRT_1]
    case = old_desk.workflow.case("A-2026-001")
    assert (case.status, case.note, case.returned_reason) == ("approved", "证据齐全", "")


def test_old_decisions_show_on_the_ad(old_desk: Services) -> None:
    lead = old_desk.workflow.lead_of(DISEASE_BODY)

    assert [(hit.rule_id, hit.review_status) for hit in lead.hits] == \
        [("ad17-disease-treatment", "confirmed"), ("ad17-medical-terms", "dismissed")]
    assert lead.status == "confirmed"
    assert [(row["scope"], row["action"], row["actor"]) for row in old_desk.workflow.lead_history(lead)] == \
        [("单项：神药、根治糖尿病", "confirm", "rev"), ("单项：有效率", "dismiss", "rev")]
    assert old_desk.workflow.overridden(lead.hit_ids) == {DISEASE_TITLE, MEDICAL}


def test_an_old_case_still_holds_its_ad(old_desk: Services) -> None:
    lead = old_desk.workflow.lead_of(SHIRT_2)

    assert lead.status == "transferred"
    assert old_desk.workflow.case_of_any(lead.hit_ids).case_no == "A-2026-001"


def test_deciding_an_old_ad_brings_every_place_of_a_hit_to_its_decision(old_desk: Services) -> None:
    old_desk.workflow.decide_ad(User("boss", "王科长", "chief", True), MEDICAL, "confirm")

    assert _statuses(old_desk, DISEASE_TITLE, DISEASE_BODY, MEDICAL) == ["confirmed", "confirmed", "dismissed"]


def test_cases_an_older_cli_kept_in_the_store_join_the_register(tmp_path: Path) -> None:
    """Before the one register, `adwatch evidence case add` kept its cases in the store: the console adopts them."""
    with open_services(tmp_path) as services:
        hits = save(services.store, checked_ad("http://mall.test/item/2.html", "mall", "纯棉T恤", SUPERLATIVE, FETCHED))
    with sqlite3.connect(tmp_path / "adwatch.db") as conn:
        conn.execute("CREATE TABLE cases (case_id TEXT NOT NULL, hit_id TEXT NOT NULL, added_at TEXT NOT NULL, "
                     "PRIMARY KEY (case_id, hit_id))")
        conn.executemany("INSERT INTO cases VALUES ('AJ-2025-9', ?, '2025-12-01T00:00:00+00:00')", [(h,) for h in hits])

    with open_services(tmp_path) as services:
        case = services.workflow.case("AJ-2025-9")
        assert (case.status, case.hit_id, case.requested_by) == ("requested", hits[0], "命令行（旧案件）")
        assert services.workflow.case_hit_ids("AJ-2025-9") == hits
        assert services.store.conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'cases'").fetchone()[0] == 0

"""The ad (线索) as the unit of review: places of one rule on a version are one hit, the hits of an ad one lead."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboards import leads as leads_module
from dashboards import queue as queue_module
from dashboards.leads import group_hits, lead_status
from dashboards.queue import QueueFilter, search_leads
from dashboards.services import Services
from indexer.backend import HitQuery
from tests.dashboards.stores import CURE_CLAIM, SUPERLATIVE, checked_ad, open_services, save

FETCHED = "2026-11-05T02:00:00+00:00"


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Services]:
    with open_services(tmp_path) as services:
        save(services.store,
             checked_ad("http://healthfood.test/item/1.html", "healthfood", "根治糖尿病", CURE_CLAIM, FETCHED,
                        seller="康源大药房"),
             checked_ad("http://mall.test/item/2.html", "mall", "纯棉T恤", SUPERLATIVE, FETCHED, seller="某服饰店"))
        yield services


def test_the_same_rule_in_title_and_body_is_one_hit_with_two_spans(desk: Services) -> None:
    rows = desk.backend.search_hits(HitQuery(sites=("healthfood",), size=50)).hits
    [lead] = group_hits(rows)

    disease = next(hit for hit in lead.hits if hit.rule_id == "ad17-disease-treatment")
    title_place, body_place = sorted(row["start"] for row in disease.rows)
    assert title_place < len("根治糖尿病") < body_place  # one place in the title, one in the body
    assert disease.spans == [(row["start"], row["end"]) for row in disease.rows]
    assert disease.hit_id == disease.hit_ids[0] and len(disease.hit_ids) == 2
    assert len(lead.hits) == len({row["rule_id"] for row in rows}) < len(rows)


def test_a_lead_summarises_its_hits(desk: Services) -> None:
    [cure, shirt] = group_hits(desk.backend.search_hits(HitQuery(size=50)).hits)

    assert (cure.title, cure.advertiser, cure.severity) == ("根治糖尿病", "康源大药房", "high")
    assert cure.articles == ["广告法第十七条"]
    assert "根治糖尿病" in cure.matched
    assert (shirt.advertiser, shirt.matched, len(shirt.hits)) == ("某服饰店", ["国家级", "最好"], 1)


@pytest.mark.parametrize(("statuses", "status"), [
    (["pending", "confirmed"], "pending"), (["dismissed", "confirmed"], "confirmed"),
    (["transferred", "dismissed"], "transferred"), (["dismissed", "dismissed"], "dismissed")])
def test_a_lead_is_pending_while_any_hit_is(statuses: list[str], status: str) -> None:
    assert lead_status(statuses) == status


def test_the_queue_has_a_row_per_ad_and_filters_by_advertiser(desk: Services) -> None:
    every = search_leads(desk, QueueFilter(), "rev", size=50)
    shop = search_leads(desk, QueueFilter(advertiser="某服饰店"), "rev", size=50)

    assert (every.total, every.hits, every.truncated) == (2, 3, False)
    assert [lead.title for lead in shop.leads] == ["纯棉T恤"]


def test_a_filter_that_matches_more_places_than_are_read_says_so(desk: Services,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(leads_module, "FETCH_LIMIT", 2)
    monkeypatch.setattr(queue_module, "FETCH_LIMIT", 2)

    results = search_leads(desk, QueueFilter(), "rev", size=50)

    assert results.truncated and results.total >= 1

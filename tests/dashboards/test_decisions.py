"""The review workflow: decisions on an ad and on single hits (overrides), assignments, transfers to the inspection
corps, the audit trail.  A hit is one rule on one version of an ad, however many places it matched."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dashboards.accounts import User
from dashboards.cases import CaseError
from dashboards.decisions import DecisionError, Workflow
from dashboards.services import Services
from tests.dashboards.stores import CURE_CLAIM, SUPERLATIVE, add_user, checked_ad, open_services, save

FETCHED = "2026-11-05T02:00:00+00:00"


@dataclass
class Desk:
    services: Services
    reviewer: User
    chief: User
    inspector: User
    cure_ids: list[str]  # the cure claim's places: ad17-disease-treatment ×2 (one hit), ad17-medical-terms ×1
    superlative_ids: list[str]  # ad9-superlative ×2: one hit in two places

    @property
    def workflow(self) -> Workflow:
        return self.services.workflow

    def status(self, hit_id: str) -> str:
        return self.services.store.get_hit(hit_id)["review_status"]

    def decisions(self, hit_id: str) -> list[tuple[str, str, str]]:
        return [(row["action"], row["reason_code"], row["actor"]) for row in self.workflow.history(hit_id)]

    def audit(self) -> list[tuple[str, str, str, str]]:
        return [(row["actor"], row["action"], row["target"], row["detail"])
                for row in reversed(self.services.db.audit_entries())]


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    with open_services(tmp_path) as services:
        cure = checked_ad("http://healthfood.test/item/1.html", "healthfood", "糖友神药", CURE_CLAIM, FETCHED)
        shirt = checked_ad("http://mall.test/item/2.html", "mall", "纯棉T恤", SUPERLATIVE, FETCHED)
        cure_ids, superlative_ids = save(services.store, cure), save(services.store, shirt)
        assert [h["rule_id"] for h in cure.hits] == ["ad17-disease-treatment", "ad17-disease-treatment",
                                                     "ad17-medical-terms"]
        assert [h["rule_id"] for h in shirt.hits] == ["ad9-superlative", "ad9-superlative"]
        # The workflow takes the logged-in user as the routes hand it over (argon2 hashing of three
        # accounts per test would only slow the suite down; the accounts tests cover adding them). The
        # inspector is an account: 承办 must name one.
        add_user(services, "cop", "inspector", "稽查乙")
        yield Desk(services, User("rev", "审核员甲", "reviewer", True), User("boss", "王科长", "chief", True),
                      User("cop", "稽查乙", "inspector", True), cure_ids, superlative_ids)


# --- confirm, dismiss, reopen ---


def test_dismissal_without_a_reason_code_is_refused(desk: Desk) -> None:
    hit = desk.cure_ids[0]

    with pytest.raises(DecisionError, match="理由"):
        desk.workflow.decide(desk.reviewer, hit, "dismiss")

    assert desk.status(hit) == "pending"
    assert desk.decisions(hit) == []
    assert not [line for line in desk.audit() if line[1].startswith("hit.")]


def test_dismissal_with_a_code_that_is_not_in_the_catalog_is_refused(desk: Desk) -> None:
    hit = desk.cure_ids[0]

    with pytest.raises(DecisionError):
        desk.workflow.decide(desk.reviewer, hit, "dismiss", "because_i_said_so")

    assert desk.status(hit) == "pending"


def test_dismissal_with_a_reason_is_recorded_in_store_history_and_audit_log(desk: Desk) -> None:
    hit = desk.cure_ids[0]

    assert desk.workflow.decide(desk.reviewer, hit, "dismiss", "false_match", "词语误匹配") == "dismissed"

    stored = desk.services.store.get_hit(hit)
    assert stored["review_status"] == "dismissed"
    assert stored["reviewer"] == "rev"
    assert stored["review_reason"] == "误报（词语误匹配）"
    [row] = desk.workflow.history(hit)
    assert (row["hit_id"], row["rule_id"], row["action"], row["reason_code"], row["note"], row["actor"]) == \
        (hit, "ad17-disease-treatment", "dismiss", "false_match", "词语误匹配", "rev")
    assert ("rev", "hit.dismiss", hit, "理由：误报（词语误匹配）；备注：词语误匹配") in desk.audit()


def test_confirmation_marks_the_hit_confirmed_in_each_of_its_places(desk: Desk) -> None:
    second_place = desk.cure_ids[1]

    assert desk.workflow.decide(desk.reviewer, second_place, "confirm", note="确属违法") == "confirmed"

    assert [desk.status(hit) for hit in desk.cure_ids[:2]] == ["confirmed", "confirmed"]
    assert desk.services.store.get_hit(second_place)["review_reason"] == "确属违法"
    assert desk.decisions(second_place) == [("confirm", "", "rev")]
    assert ("rev", "hit.confirm", desk.cure_ids[0], "备注：确属违法") in desk.audit()  # one line: the hit's first id


def test_a_hit_decision_touches_no_other_hit(desk: Desk) -> None:
    desk.workflow.decide(desk.reviewer, desk.cure_ids[0], "confirm")

    assert [desk.status(hit) for hit in desk.cure_ids[2:] + desk.superlative_ids] == ["pending"] * 3


# --- the ad as the unit of review ---


def test_an_ad_decision_sets_every_hit_of_the_ad_and_no_other(desk: Desk) -> None:
    assert desk.workflow.decide_ad(desk.reviewer, desk.cure_ids[2], "confirm", note="治疗功效") == "confirmed"

    assert [desk.status(hit) for hit in desk.cure_ids] == ["confirmed"] * 3
    assert [desk.status(hit) for hit in desk.superlative_ids] == ["pending"] * 2
    lead = desk.workflow.lead_of(desk.cure_ids[0])
    assert [(row["scope"], row["action"], row["actor"]) for row in desk.workflow.lead_history(lead)] == \
        [("整条广告", "confirm", "rev")]
    assert ("rev", "ad.confirm", lead.ad_key, "备注：糖友神药 治疗功效") in desk.audit()


def test_a_hit_overridden_keeps_its_decision_when_the_ad_is_decided(desk: Desk) -> None:
    medical = desk.cure_ids[2]
    desk.workflow.decide(desk.reviewer, medical, "dismiss", "false_match")

    assert desk.workflow.decide_ad(desk.reviewer, desk.cure_ids[0], "confirm") == "confirmed"

    assert [desk.status(hit) for hit in desk.cure_ids] == ["confirmed", "confirmed", "dismissed"]
    assert desk.workflow.overridden(desk.cure_ids) == {medical}


def test_reopening_an_overridden_hit_hands_it_back_to_the_ads_decision(desk: Desk) -> None:
    medical = desk.cure_ids[2]
    desk.workflow.decide(desk.reviewer, medical, "dismiss", "false_match")
    desk.workflow.decide_ad(desk.reviewer, desk.cure_ids[0], "confirm")

    assert desk.workflow.decide(desk.chief, medical, "reopen") == "confirmed"

    assert desk.status(medical) == "confirmed"
    assert desk.workflow.overridden(desk.cure_ids) == set()


def test_an_ad_is_pending_while_any_of_its_hits_is(desk: Desk) -> None:
    desk.workflow.decide(desk.reviewer, desk.cure_ids[0], "confirm")
    assert desk.workflow.lead_of(desk.cure_ids[0]).status == "pending"

    desk.workflow.decide(desk.reviewer, desk.cure_ids[2], "dismiss", "not_ad")

    assert desk.workflow.lead_of(desk.cure_ids[0]).status == "confirmed"


def test_an_ad_whose_hits_are_all_dismissed_is_dismissed(desk: Desk) -> None:
    assert desk.workflow.decide_ad(desk.reviewer, desk.superlative_ids[1], "dismiss", "exempt_guide") == "dismissed"

    assert [desk.status(hit) for hit in desk.superlative_ids] == ["dismissed", "dismissed"]
    assert desk.services.store.get_hit(desk.superlative_ids[0])["review_reason"] == "属于执法指南豁免情形"


def test_an_ad_dismissal_needs_a_reason(desk: Desk) -> None:
    with pytest.raises(DecisionError, match="理由"):
        desk.workflow.decide_ad(desk.reviewer, desk.cure_ids[0], "dismiss")

    assert desk.services.db.conn.execute("SELECT count(*) FROM ad_decisions").fetchone()[0] == 0


def test_reopening_puts_the_hit_back_to_pending_and_keeps_the_history(desk: Desk) -> None:
    hit = desk.cure_ids[0]
    desk.workflow.decide(desk.reviewer, hit, "dismiss", "not_ad")

    assert desk.workflow.decide(desk.chief, hit, "reopen", note="需复核") == "pending"

    stored = desk.services.store.get_hit(hit)
    assert stored["review_status"] == "pending"
    assert not stored["reviewer"]
    assert not stored["review_reason"]
    assert desk.decisions(hit) == [("dismiss", "not_ad", "rev"), ("reopen", "", "boss")]


def test_unknown_action_and_unknown_hit_are_refused(desk: Desk) -> None:
    with pytest.raises(DecisionError):
        desk.workflow.decide(desk.reviewer, desk.cure_ids[0], "delete")
    with pytest.raises(DecisionError, match="no-such-hit"):
        desk.workflow.decide(desk.reviewer, "no-such-hit", "confirm")
    assert desk.services.db.conn.execute("SELECT count(*) FROM decisions").fetchone()[0] == 0


def test_bulk_dismissal_dismisses_each_and_returns_the_refused(desk: Desk) -> None:
    transferred = desk.cure_ids[2]
    desk.workflow.request_transfer(desk.chief, transferred, "滨市监稽〔2026〕1号", "cop")

    refused = desk.workflow.dismiss_many(desk.reviewer, [*desk.superlative_ids, transferred, "nope"],
                                            "duplicate")

    assert refused == [transferred, "nope"]
    assert [desk.status(hit) for hit in desk.superlative_ids] == ["dismissed", "dismissed"]
    assert desk.status(transferred) == "transferred"


# --- assignments ---


def test_chief_assigns_ads_to_a_reviewer(desk: Desk) -> None:
    assert desk.workflow.assign(desk.chief, desk.superlative_ids[:1], desk.reviewer) == 1  # one ad

    assert sorted(desk.workflow.assigned_ids("rev")) == sorted(desk.superlative_ids)
    assert desk.workflow.assignees([*desk.superlative_ids, desk.cure_ids[0]]) == \
        dict.fromkeys(desk.superlative_ids, "rev")
    assert [line for line in desk.audit() if line[1] == "hit.assign"] == \
        [("boss", "hit.assign", desk.superlative_ids[0], "纯棉T恤 → 审核员甲")]


def test_reassigning_a_hit_replaces_its_assignee(desk: Desk) -> None:
    other = add_user(desk.services, "rev2", "reviewer")
    desk.workflow.assign(desk.chief, desk.superlative_ids, desk.reviewer)

    desk.workflow.assign(desk.chief, desk.superlative_ids[1:], other)

    assert desk.workflow.assigned_ids("rev") == []
    assert sorted(desk.workflow.assigned_ids("rev2")) == sorted(desk.superlative_ids)


def test_an_inspector_cannot_be_assigned_hits(desk: Desk) -> None:
    with pytest.raises(DecisionError, match="cop"):
        desk.workflow.assign(desk.chief, desk.superlative_ids, desk.inspector)

    assert desk.workflow.assigned_ids("cop") == []


def test_a_disabled_reviewer_cannot_be_assigned_hits(desk: Desk) -> None:
    add_user(desk.services, "rev2", "reviewer")
    desk.services.accounts.set_active("rev2", False)

    with pytest.raises(DecisionError):
        desk.workflow.assign(desk.chief, desk.superlative_ids, desk.services.accounts.get("rev2"))

    assert desk.workflow.assigned_ids("rev2") == []


# --- transfers to the inspection corps ---


def test_reviewers_transfer_request_waits_for_a_chief(desk: Desk) -> None:
    hit = desk.cure_ids[0]

    case = desk.workflow.request_transfer(desk.reviewer, hit, "滨市监稽〔2026〕12号", "cop", "证据齐全")

    assert (case.case_no, case.hit_id, case.inspector, case.status, case.requested_by, case.approved_by) == \
        ("滨市监稽〔2026〕12号", hit, "cop", "requested", "rev", None)
    assert case.status_label == "待批准"
    assert [desk.status(h) for h in desk.cure_ids] == ["confirmed"] * 3  # the whole ad
    assert desk.workflow.case_hit_ids(case.case_no) == desk.cure_ids
    lead = desk.workflow.lead_of(hit)
    assert [(row["action"], row["note"]) for row in desk.workflow.lead_history(lead)] == \
        [("transfer", "滨市监稽〔2026〕12号")]
    assert ("rev", "case.request", "滨市监稽〔2026〕12号", "糖友神药（2 项命中）→ cop") in desk.audit()


def test_chiefs_approval_transfers_the_hit(desk: Desk) -> None:
    hit = desk.cure_ids[0]
    desk.workflow.request_transfer(desk.reviewer, hit, "滨市监稽〔2026〕12号", "cop")

    case = desk.workflow.approve(desk.chief, "滨市监稽〔2026〕12号")

    assert (case.status, case.approved_by) == ("approved", "boss")
    assert case.approved_at
    assert [desk.status(h) for h in desk.cure_ids] == ["transferred"] * 3
    assert [c.case_no for c in desk.workflow.cases(("approved",))] == ["滨市监稽〔2026〕12号"]
    assert ("boss", "case.approve", "滨市监稽〔2026〕12号", "承办：cop") in desk.audit()


def test_a_transfer_leaves_out_the_hits_dismissed(desk: Desk) -> None:
    desk.workflow.decide(desk.reviewer, desk.cure_ids[2], "dismiss", "false_match")

    case = desk.workflow.request_transfer(desk.chief, desk.cure_ids[0], "A-2026-001", "cop")

    assert desk.workflow.case_hit_ids(case.case_no) == desk.cure_ids[:2]
    assert [desk.status(h) for h in desk.cure_ids] == ["transferred", "transferred", "dismissed"]


def test_chiefs_own_request_is_approved_at_once(desk: Desk) -> None:
    hit = desk.cure_ids[0]

    case = desk.workflow.request_transfer(desk.chief, hit, "A-2026-001", "cop")

    assert (case.status, case.requested_by, case.approved_by) == ("approved", "boss", "boss")
    assert desk.status(hit) == "transferred"


def test_a_transfer_captures_the_evidence_its_ads_lack(desk: Desk) -> None:
    """#15: the crawl captured nothing for these ads; asking for the transfer packages them from the raw archive."""
    assert desk.workflow.missing_evidence(desk.cure_ids) == desk.cure_ids

    desk.workflow.request_transfer(desk.reviewer, desk.cure_ids[0], "A-2026-001", "cop")

    assert desk.workflow.missing_evidence(desk.cure_ids) == []
    rows = [desk.services.evidence.get(hit_id) for hit_id in desk.cure_ids]
    assert {row.status for row in rows} == {"ok"} and len({row.package for row in rows}) == 1  # one ad
    assert (desk.services.config.evidence.evidence_dir / rows[0].package).is_file()


def test_an_ad_whose_evidence_cannot_be_captured_is_not_transferred(desk: Desk) -> None:
    (desk.services.config.base.raw_dir / "crawl.warc.gz").unlink()  # the raw archive lost; the page is nowhere

    with pytest.raises(DecisionError, match="未能取证，不能移送"):
        desk.workflow.request_transfer(desk.chief, desk.cure_ids[0], "A-2026-001", "cop")

    assert desk.workflow.case("A-2026-001") is None
    assert [desk.status(h) for h in desk.cure_ids] == ["pending"] * 3
    assert desk.services.evidence.get(desk.cure_ids[0]).status == "missing"


def test_the_cli_cannot_put_hits_of_a_console_case_into_another(desk: Desk) -> None:
    desk.workflow.request_transfer(desk.reviewer, desk.cure_ids[0], "A-2026-001", "cop")

    with pytest.raises(CaseError, match="命中已在其他案件中"):
        desk.workflow.register.request("CLI-2026-2", desk.cure_ids[:1], "", "", "clerk")
    desk.workflow.register.request("A-2026-001", desk.superlative_ids, "", "", "clerk")  # the same case takes more

    assert desk.workflow.case("CLI-2026-2") is None
    assert desk.workflow.case_hit_ids("A-2026-001") == desk.cure_ids + desk.superlative_ids


def test_a_case_asked_for_outside_the_console_is_approved_with_an_inspector(desk: Desk) -> None:
    """The register is one: a case the CLI asked for (no inspector yet) is the chief's to approve, naming one."""
    desk.workflow.register.request("CLI-2026-1", desk.superlative_ids, "", "命令行提请", "clerk")

    with pytest.raises(DecisionError, match="须先指定承办稽查人员"):
        desk.workflow.approve(desk.chief, "CLI-2026-1")
    with pytest.raises(DecisionError, match="承办人须为在岗的稽查人员账号"):
        desk.workflow.approve(desk.chief, "CLI-2026-1", "rev")
    case = desk.workflow.approve(desk.chief, "CLI-2026-1", "cop")

    assert (case.status, case.inspector, case.note, case.requested_by) == ("approved", "cop", "命令行提请", "clerk")
    assert [desk.status(h) for h in desk.superlative_ids] == ["transferred"] * 2
    people = desk.workflow.register.custody_people("CLI-2026-1")
    assert (people["approved_by"], people["inspector"], people["requested_by"]) == ("boss", "稽查乙（cop）", "clerk")


@pytest.mark.parametrize("action", ["confirm", "dismiss", "reopen"])
def test_a_transferred_hit_cannot_be_decided_again(desk: Desk, action: str) -> None:
    hit = desk.cure_ids[0]
    desk.workflow.request_transfer(desk.chief, hit, "A-2026-001", "cop")

    with pytest.raises(DecisionError):
        desk.workflow.decide(desk.chief, hit, action, "not_ad")

    assert desk.status(hit) == "transferred"


def test_a_hit_whose_transfer_awaits_approval_cannot_be_decided(desk: Desk) -> None:
    hit = desk.cure_ids[0]
    desk.workflow.request_transfer(desk.reviewer, hit, "A-2026-001", "cop")

    with pytest.raises(DecisionError):
        desk.workflow.decide(desk.reviewer, hit, "dismiss", "not_ad")

    assert desk.status(hit) == "confirmed"


def test_duplicate_case_number_is_refused(desk: Desk) -> None:
    desk.workflow.request_transfer(desk.reviewer, desk.cure_ids[0], "A-2026-001", "cop")

    with pytest.raises(DecisionError, match="A-2026-001"):
        desk.workflow.request_transfer(desk.reviewer, desk.superlative_ids[0], " A-2026-001 ", "cop")

    assert desk.status(desk.superlative_ids[0]) == "pending"
    assert desk.workflow.case_of_hit(desk.superlative_ids[0]) is None


def test_a_case_holds_many_ads_when_the_next_ad_joins_it(desk: Desk) -> None:
    desk.workflow.request_transfer(desk.reviewer, desk.cure_ids[0], "A-2026-001", "cop", "证据齐全")

    case = desk.workflow.request_transfer(desk.reviewer, desk.superlative_ids[1], "A-2026-001", "cop", join=True)

    assert case.status == "requested"
    assert desk.workflow.case_hit_ids("A-2026-001") == desk.cure_ids + desk.superlative_ids
    assert ("rev", "case.add", "A-2026-001", "纯棉T恤（1 项命中）→ cop") in desk.audit()
    desk.workflow.approve(desk.chief, "A-2026-001")
    assert {desk.status(hit) for hit in desk.cure_ids + desk.superlative_ids} == {"transferred"}


def test_joining_a_case_needs_its_inspector_and_a_chief_once_it_is_transferred(desk: Desk) -> None:
    add_user(desk.services, "cop2", "inspector")
    desk.workflow.request_transfer(desk.chief, desk.cure_ids[0], "A-2026-001", "cop")  # approved at once

    with pytest.raises(DecisionError, match="科长"):
        desk.workflow.request_transfer(desk.reviewer, desk.superlative_ids[0], "A-2026-001", "cop", join=True)
    with pytest.raises(DecisionError, match="承办人"):
        desk.workflow.request_transfer(desk.chief, desk.superlative_ids[0], "A-2026-001", "cop2", join=True)
    assert desk.status(desk.superlative_ids[0]) == "pending"

    desk.workflow.request_transfer(desk.chief, desk.superlative_ids[0], "A-2026-001", "cop", join=True)

    assert desk.status(desk.superlative_ids[0]) == "transferred"
    assert len(desk.workflow.case_hit_ids("A-2026-001")) == 5


def test_a_hit_already_in_a_case_cannot_be_requested_again(desk: Desk) -> None:
    desk.workflow.request_transfer(desk.reviewer, desk.cure_ids[0], "A-2026-001", "cop")

    with pytest.raises(DecisionError):
        desk.workflow.request_transfer(desk.reviewer, desk.cure_ids[2], "A-2026-002", "cop")  # the same ad

    assert desk.workflow.case("A-2026-002") is None


@pytest.mark.parametrize("case_no", ["", "   ", "A 2026", "<script>", "1;DROP", "x" * 41, "案/1"])
def test_invalid_case_number_is_refused(desk: Desk, case_no: str) -> None:
    hit = desk.cure_ids[0]

    with pytest.raises(DecisionError, match="案件编号"):
        desk.workflow.request_transfer(desk.reviewer, hit, case_no, "cop")

    assert desk.workflow.cases() == []
    assert desk.status(hit) == "pending"


def test_transfer_needs_an_inspector_account(desk: Desk) -> None:
    add_user(desk.services, "rev", "reviewer")
    for inspector in ("  ", "王稽查", "rev"):  # none, a typed name, an account of another role
        with pytest.raises(DecisionError):
            desk.workflow.request_transfer(desk.reviewer, desk.cure_ids[0], "A-2026-001", inspector)
    desk.services.accounts.set_active("cop", False)
    with pytest.raises(DecisionError, match="稽查人员账号"):
        desk.workflow.request_transfer(desk.reviewer, desk.cure_ids[0], "A-2026-001", "cop")
    assert desk.workflow.cases() == []


def test_rejected_request_returns_the_case_and_the_hit_may_be_decided_again(desk: Desk) -> None:
    hit = desk.cure_ids[0]
    desk.workflow.request_transfer(desk.reviewer, hit, "A-2026-001", "cop")

    case = desk.workflow.reject(desk.chief, "A-2026-001", "证据不足")

    assert (case.status, case.status_label, case.approved_by) == ("rejected", "已退回", "boss")
    assert desk.status(hit) == "confirmed"
    assert desk.workflow.case_of_hit(hit) is None
    assert ("boss", "case.reject", "A-2026-001", "理由：证据不足") in desk.audit()
    assert desk.workflow.decide(desk.reviewer, hit, "dismiss", "rectified") == "dismissed"


def test_a_returned_request_keeps_its_reason_for_the_reviewer_who_asked(desk: Desk) -> None:
    desk.workflow.request_transfer(desk.reviewer, desk.cure_ids[0], "A-2026-001", "cop", "证据齐全")
    desk.workflow.reject(desk.chief, "A-2026-001", "请补充取证")

    [returned] = desk.workflow.returned("rev")

    assert (returned.case_no, returned.returned_reason, returned.note, returned.approved_by) == \
        ("A-2026-001", "请补充取证", "证据齐全", "boss")
    assert desk.workflow.returned("boss") == []
    assert desk.workflow.returned_case(desk.cure_ids[2:]).case_no == "A-2026-001"  # any hit of the ad
    assert desk.workflow.returned_case(desk.superlative_ids) is None


def test_a_returned_hit_may_be_requested_again_under_a_new_number(desk: Desk) -> None:
    hit = desk.cure_ids[0]
    desk.workflow.request_transfer(desk.reviewer, hit, "A-2026-001", "cop")
    desk.workflow.reject(desk.chief, "A-2026-001")

    case = desk.workflow.request_transfer(desk.reviewer, hit, "A-2026-002", "cop")

    assert case.status == "requested"
    assert desk.workflow.case_of_hit(hit).case_no == "A-2026-002"


def test_a_decided_case_cannot_be_approved_or_rejected_again(desk: Desk) -> None:
    desk.workflow.request_transfer(desk.reviewer, desk.cure_ids[0], "A-2026-001", "cop")
    desk.workflow.reject(desk.chief, "A-2026-001")

    with pytest.raises(DecisionError):
        desk.workflow.approve(desk.chief, "A-2026-001")
    with pytest.raises(DecisionError):
        desk.workflow.reject(desk.chief, "A-2026-001")
    with pytest.raises(DecisionError):
        desk.workflow.approve(desk.chief, "no-such-case")

    assert desk.workflow.case("A-2026-001").status == "rejected"
    assert desk.status(desk.cure_ids[0]) == "confirmed"


# --- what is done with a case (处置情况) ---


def test_dispositions_are_recorded_with_who_when_and_the_document_and_closing_closes(desk: Desk) -> None:
    desk.workflow.request_transfer(desk.chief, desk.cure_ids[0], "A-2026-001", "cop")

    desk.workflow.dispose(desk.inspector, "A-2026-001", "rectify", "滨市监责改〔2026〕8号", note="限期整改")
    desk.workflow.dispose(desk.inspector, "A-2026-001", "penalty", "滨市监处罚〔2026〕12号", "20,000")
    case = desk.workflow.dispose(desk.chief, "A-2026-001", "close", "结案审批表第3号")

    assert case.status == "closed" and case.status_label == "已结案"
    assert [(row["kind"], row["document_no"], row["amount"], row["actor"]) for row in
            desk.workflow.dispositions("A-2026-001")] == [
        ("rectify", "滨市监责改〔2026〕8号", None, "cop"), ("penalty", "滨市监处罚〔2026〕12号", 20000.0, "cop"),
        ("close", "结案审批表第3号", None, "boss")]
    assert ("cop", "case.dispose", "A-2026-001", "罚没 20000.00 元；文书：滨市监处罚〔2026〕12号") in desk.audit()
    with pytest.raises(DecisionError, match="已结案"):
        desk.workflow.dispose(desk.chief, "A-2026-001", "takedown", "X-1")


@pytest.mark.parametrize(("kind", "document_no", "amount"), [
    ("no-such-kind", "文书1号", ""), ("rectify", "  ", ""), ("penalty", "文书1号", ""), ("penalty", "文书1号", "-5"),
    ("penalty", "文书1号", "many")])
def test_a_disposition_without_its_kind_document_or_amount_is_refused(desk: Desk, kind: str, document_no: str,
                                                                     amount: str) -> None:
    desk.workflow.request_transfer(desk.chief, desk.cure_ids[0], "A-2026-001", "cop")

    with pytest.raises(DecisionError):
        desk.workflow.dispose(desk.chief, "A-2026-001", kind, document_no, amount)

    assert desk.workflow.dispositions("A-2026-001") == []


def test_a_case_not_yet_approved_has_no_disposition(desk: Desk) -> None:
    desk.workflow.request_transfer(desk.reviewer, desk.cure_ids[0], "A-2026-001", "cop")

    with pytest.raises(DecisionError, match="待批准"):
        desk.workflow.dispose(desk.chief, "A-2026-001", "rectify", "文书1号")


# --- the audit log ---


def test_audit_log_refuses_update_and_delete(desk: Desk) -> None:
    desk.workflow.decide(desk.reviewer, desk.cure_ids[0], "confirm")
    before = desk.audit()

    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        desk.services.db.conn.execute("UPDATE audit_log SET actor = 'someone else'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        desk.services.db.conn.execute("DELETE FROM audit_log")

    assert desk.audit() == before


def test_audit_log_is_append_only_for_any_connection_to_the_file(desk: Desk) -> None:
    desk.workflow.decide(desk.reviewer, desk.cure_ids[0], "confirm")
    other = sqlite3.connect(desk.services.db.path)
    try:
        with pytest.raises(sqlite3.IntegrityError):
            other.execute("DELETE FROM audit_log WHERE action = 'hit.confirm'")
        with pytest.raises(sqlite3.IntegrityError):
            other.execute("UPDATE audit_log SET detail = 'x' WHERE action = 'hit.confirm'")
    finally:
        other.close()

    assert any(line[1] == "hit.confirm" for line in desk.audit())


# --- rule quality ---


def test_rule_quality_counts_each_hit_by_its_decision_most_dismissals_first(desk: Desk) -> None:
    decide = desk.workflow.decide
    disease, _, medical = desk.cure_ids
    decide(desk.reviewer, desk.superlative_ids[0], "dismiss", "false_match")  # one hit, two places: counted once
    decide(desk.reviewer, disease, "dismiss", "false_match")
    decide(desk.chief, disease, "confirm")  # overrules the dismissal: counts as confirmed only
    decide(desk.reviewer, medical, "confirm")
    decide(desk.reviewer, medical, "dismiss", "duplicate")

    quality = desk.workflow.rule_quality()

    assert [(e["rule_id"], e["confirmed"], e["dismissed"], e["reasons"], e["dismissal_rate"]) for e in quality] == [
        ("ad17-medical-terms", 0, 1, {"duplicate": 1}, 1.0),
        ("ad9-superlative", 0, 1, {"false_match": 1}, 1.0),
        ("ad17-disease-treatment", 1, 0, {}, 0.0),
    ]
    assert quality[1]["explanation"].startswith("使用“最”")


def test_rule_quality_counts_a_transfer_as_confirmed(desk: Desk) -> None:
    desk.workflow.request_transfer(desk.reviewer, desk.cure_ids[0], "A-2026-001", "cop")

    assert {(e["rule_id"], e["confirmed"], e["dismissed"]) for e in desk.workflow.rule_quality()} == \
        {("ad17-disease-treatment", 1, 0), ("ad17-medical-terms", 1, 0)}


def test_rule_quality_of_a_reopened_hit_counts_neither_way(desk: Desk) -> None:
    hit = desk.superlative_ids[0]
    desk.workflow.decide(desk.reviewer, hit, "dismiss", "not_ad")
    desk.workflow.decide(desk.reviewer, hit, "reopen")

    assert desk.workflow.rule_quality() == []

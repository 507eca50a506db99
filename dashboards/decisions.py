"""The review workflow: decisions on ads with per-hit overrides, assignments, transfers to the inspection corps.

A reviewer decides an ad (线索) as a whole: the decision is a row of
``ad_decisions`` and sets every hit of the ad's version, except the hits a
reviewer decided on their own (an override: the latest row of ``decisions``
for that hit confirms or dismisses it; reopening a hit hands it back to the
ad's decision).  A hit is one rule on one version (:mod:`dashboards.leads`):
deciding it decides each of its places.  Rows of ``decisions`` written by an
older console, one per place, are overrides of the places they name.

What the hits then are — the review state in the search backend, and in the
SQLite store too when the backend is an engine — follows from these
decisions; the queue, exports and ``adwatch hits --status`` read it.  Every
action is also a line in the append-only audit log.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from typing import Any

from crawler.exceptions import AdWatchError
from dashboards.accounts import User
from dashboards.cases import CASE_NO, Case, CaseError, CaseRegister
from dashboards.catalog import Catalog
from dashboards.db import ConsoleDB, utc_now
from dashboards.leads import Hit, Lead, fetch_hits, group_hits
from evidence.store import EvidenceStore
from indexer.backend import AdIndex, HitQuery, Review
from indexer.sqlite import SqliteStore

#: Decision action → the review status it gives the hit.
ACTIONS = {"confirm": "confirmed", "dismiss": "dismissed", "reopen": "pending"}
STATUS_LABELS = {"pending": "待审核", "confirmed": "已确认", "dismissed": "已排除", "transferred": "已移送稽查"}
#: What a person reads for each decision and audit action (the code stays in the database).
ACTION_LABELS = {"confirm": "确认违法", "dismiss": "排除", "reopen": "重新待审", "transfer": "提请移送"}
AUDIT_LABELS = {
    "ad.confirm": "确认违法（整条广告）", "ad.dismiss": "排除（整条广告）", "ad.reopen": "重新待审（整条广告）",
    "hit.confirm": "确认违法（单项命中）", "hit.dismiss": "排除（单项命中）", "hit.reopen": "重新待审（单项命中）",
    "hit.assign": "分配审核", "case.request": "提请移送稽查",
    "case.add": "并入案件", "case.approve": "批准移送", "case.reject": "退回移送",
    "case.export": "导出证据包", "case.dispose": "记录处置情况",
    "report.monthly": "下载月度统计表", "user.add": "新增账号", "user.disable": "停用账号",
    "user.enable": "启用账号", "user.reset_password": "重置密码", "login": "登录", "login.failed": "登录失败",
}
DOCUMENT_NO = re.compile(r"^[\w\-()（）〔〕\[\]号第字 ]{1,60}$")


#: Captures evidence for the hits given that have none; returns those still without (evidence.ondemand).
Capture = Callable[[list[str]], list[str]]


class DecisionError(AdWatchError):
    """A decision that cannot be made (unknown hit, missing reason, case number taken …)."""


def _detail(reason_label: str, note: str) -> str:
    """An audit line's detail in words: the reason and the note."""
    return "；".join(part for part in (reason_label and f"理由：{reason_label}", note and f"备注：{note}") if part)


class Workflow:
    """Decisions on ads and hits, over the console database and the search backend."""

    def __init__(self, db: ConsoleDB, backend: AdIndex, store: SqliteStore, catalog: Catalog,
                 evidence: EvidenceStore | None = None, capture: Capture | None = None) -> None:
        self.db, self.backend, self.store, self.catalog = db, backend, store, catalog
        self.register = CaseRegister(db)
        #: Where evidence is recorded, and how the missing is captured: a transfer holds no ad without evidence.
        self.evidence, self.capture = evidence, capture

    # --- reading ---

    def assigned_ids(self, assignee: str) -> list[str]:
        rows = self.db.conn.execute("SELECT hit_id FROM assignments WHERE assignee = ?", (assignee,))
        return [row[0] for row in rows]

    def assignees(self, hit_ids: list[str]) -> dict[str, str]:
        if not hit_ids:
            return {}
        rows = self.db.conn.execute(
            f"SELECT hit_id, assignee FROM assignments WHERE hit_id IN ({', '.join('?' * len(hit_ids))})", hit_ids)
        return {row[0]: row[1] for row in rows}

    def history(self, hit_id: str) -> list[sqlite3.Row]:
        return self.db.conn.execute("SELECT * FROM decisions WHERE hit_id = ? ORDER BY id", (hit_id,)).fetchall()

    def lead_history(self, lead: Lead) -> list[dict[str, Any]]:
        """The decisions on the ad's version and on each of its hits, oldest first."""
        ads = self.db.conn.execute("SELECT * FROM ad_decisions WHERE ad_key = ? AND content_hash = ? ORDER BY id",
                                   (lead.ad_key, lead.content_hash)).fetchall()
        ids = lead.hit_ids
        hits = self.db.conn.execute(
            f"SELECT * FROM decisions WHERE hit_id IN ({', '.join('?' * len(ids))}) ORDER BY id", ids).fetchall()
        rules = {hit_id: hit for hit in lead.hits for hit_id in hit.hit_ids}
        rows = [{**dict(row), "scope": "整条广告"} for row in ads]
        seen: set[tuple[str, str, str]] = set()
        for row in hits:  # one line per hit, not per place
            hit = rules[row["hit_id"]]
            if (hit.hit_id, row["at"], row["action"]) not in seen:
                seen.add((hit.hit_id, row["at"], row["action"]))
                rows.append({**dict(row), "scope": f"单项：{'、'.join(hit.matched)}"})
        return sorted(rows, key=lambda row: row["at"])

    def cases(self, statuses: tuple[str, ...] = ()) -> list[Case]:
        return self.register.all(statuses)

    def case(self, case_no: str) -> Case | None:
        return self.register.get(case_no)

    def case_hit_ids(self, case_no: str) -> list[str]:
        return self.register.hit_ids(case_no)

    def case_leads(self, case_no: str) -> list[tuple[Lead, list[str]]]:
        """The ads the case holds, in the order they joined it, each with the ids of its hits in the case."""
        held = self.case_hit_ids(case_no)
        leads: dict[tuple[str, str], tuple[Lead, list[str]]] = {}
        for hit_id in held:
            if not any(hit_id in ids for _, ids in leads.values()) and self.backend.get_hit(hit_id) is not None:
                lead = self.lead_of(hit_id)
                leads[(lead.ad_key, lead.content_hash)] = (lead, [i for i in lead.hit_ids if i in held])
        return list(leads.values())

    def case_of_hit(self, hit_id: str) -> Case | None:
        row = self.db.conn.execute(
            """SELECT k.* FROM cases k JOIN case_hits c ON c.case_no = k.case_no
               WHERE c.hit_id = ? AND k.status != 'rejected'""", (hit_id,)).fetchone()
        return Case(**dict(row)) if row else None

    def returned(self, requested_by: str) -> list[Case]:
        """The requests of ``requested_by`` a chief returned (我的退回), latest first."""
        rows = self.db.conn.execute("SELECT * FROM cases WHERE status = 'rejected' AND requested_by = ? "
                                    "ORDER BY approved_at DESC, case_no", (requested_by,)).fetchall()
        return [Case(**dict(row)) for row in rows]

    def returned_case(self, hit_ids: list[str]) -> Case | None:
        """The latest returned request that held any of ``hit_ids``."""
        row = self.db.conn.execute(
            f"""SELECT k.* FROM cases k JOIN case_hits c ON c.case_no = k.case_no WHERE k.status = 'rejected'
                AND c.hit_id IN ({', '.join('?' * len(hit_ids))}) ORDER BY k.approved_at DESC LIMIT 1""",
            hit_ids).fetchone()
        return Case(**dict(row)) if row else None

    def case_of_any(self, hit_ids: list[str]) -> Case | None:
        return next((case for case in map(self.case_of_hit, hit_ids) if case), None)

    def rule_quality(self) -> list[dict[str, Any]]:
        """Per rule, the hits decided (their review state now): confirmed, dismissed (by reason), most
        dismissals first.  A hit is one rule on one version, however many places it matched."""
        codes = {label: code for code, label in self.catalog.dismiss_reasons.items()}
        rows = fetch_hits(self.backend, HitQuery(statuses=("confirmed", "transferred", "dismissed"),
                                                 current_only=False))
        rules: dict[str, dict[str, Any]] = {}
        for lead in group_hits(rows):
            for hit in lead.hits:
                entry = rules.setdefault(hit.rule_id, {"rule_id": hit.rule_id, "explanation": hit.explanation,
                                                       "confirmed": 0, "dismissed": 0, "reasons": {}})
                if hit.review_status == "dismissed":
                    entry["dismissed"] += 1
                    code = codes.get(hit.decided.get("review_reason") or "", "")
                    entry["reasons"][code] = entry["reasons"].get(code, 0) + 1
                else:
                    entry["confirmed"] += 1
        for entry in rules.values():
            decided = entry["confirmed"] + entry["dismissed"]
            entry["dismissal_rate"] = entry["dismissed"] / decided if decided else 0.0
        return sorted(rules.values(), key=lambda e: (-e["dismissed"], -e["dismissal_rate"], e["rule_id"]))

    # --- the ad and its hits ---

    def _hit(self, hit_id: str) -> dict[str, Any]:
        hit = self.backend.get_hit(hit_id)
        if hit is None:
            raise DecisionError(f"没有该命中 no such hit {hit_id!r}")
        return hit

    def lead_of(self, hit_id: str) -> Lead:
        """The ad (its version that holds ``hit_id``) with every hit on that version."""
        hit = self._hit(hit_id)
        rows = fetch_hits(self.backend, HitQuery(canonical_urls=(hit["canonical_url"],), current_only=False))
        [lead] = [lead for lead in group_hits(rows) if lead.content_hash == hit["content_hash"]]
        return lead

    def overridden(self, hit_ids: list[str]) -> set[str]:
        """The hits decided on their own: their latest decision confirms or dismisses them."""
        if not hit_ids:
            return set()
        rows = self.db.conn.execute(
            f"""SELECT hit_id, action FROM decisions WHERE id IN (SELECT max(id) FROM decisions
                WHERE hit_id IN ({', '.join('?' * len(hit_ids))}) GROUP BY hit_id)""", hit_ids)
        return {row["hit_id"] for row in rows if row["action"] in ("confirm", "dismiss")}

    def ad_decision(self, lead: Lead) -> sqlite3.Row | None:
        """The latest decision on the ad's version, if any."""
        return self.db.conn.execute(
            "SELECT * FROM ad_decisions WHERE ad_key = ? AND content_hash = ? "
            "AND action IN ('confirm', 'dismiss', 'reopen') ORDER BY id DESC LIMIT 1",
            (lead.ad_key, lead.content_hash)).fetchone()

    def _write_status(self, hit_ids: list[str], status: str, user: User, reason: str) -> None:
        review = Review(status=status, reviewer=user.username, reason=reason) if status != "pending" else \
            Review(status="pending", reviewer="", reason="", reviewed_at="")
        for hit_id in hit_ids:
            self.backend.set_review(hit_id, review)
        self.backend.refresh()  # the queue shows the decision at once, also on a search engine
        if self.backend is not self.store:
            for hit_id in hit_ids:
                self.store.set_review(hit_id, review)  # False (nothing to do) for a hit the store does not hold

    def _check(self, action: str, reason_code: str) -> None:
        if action not in ACTIONS:
            raise DecisionError(f"未知操作 unknown action {action!r}")
        if action == "dismiss" and reason_code not in self.catalog.dismiss_reasons:
            raise DecisionError("排除须选择理由 a dismissal needs one of the reason codes")

    def _reason(self, action: str, reason_code: str, note: str) -> str:
        return self.catalog.dismiss_reasons.get(reason_code, "") if action == "dismiss" else note

    def decide_ad(self, user: User, hit_id: str, action: str, reason_code: str = "", note: str = "") -> str:
        """Confirm, dismiss (a reason code is required) or reopen the ad of ``hit_id`` — every hit of its version
        but those decided on their own; returns the ad's status."""
        self._check(action, reason_code)
        lead = self.lead_of(hit_id)
        if lead.status == "transferred" or self.case_of_any(lead.hit_ids):
            raise DecisionError("该广告已提请或已移送稽查，不能再改 the ad is (being) transferred")
        overridden = self.overridden(lead.hit_ids)
        following = [i for hit in lead.hits if not overridden & set(hit.hit_ids) for i in hit.hit_ids]
        # The backend first: if it is down, nothing is recorded anywhere and the reviewer simply tries again.
        self._write_status(following, ACTIONS[action], user, self._reason(action, reason_code, note))
        self._align_places(lead, overridden)
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO ad_decisions(ad_key, content_hash, action, reason_code, note, actor, at) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (lead.ad_key, lead.content_hash, action, reason_code, note, user.username, utc_now()))
            self.db.audit(user.username, f"ad.{action}", lead.ad_key,
                          _detail(self.catalog.dismiss_reasons.get(reason_code, ""), f"{lead.title} {note}".strip()))
        return self.lead_of(hit_id).status

    def _align_places(self, lead: Lead, overridden: set[str]) -> None:
        """Give every place of an overridden hit the hit's state (an older console decided places one by one)."""
        for hit in lead.hits:
            if overridden & set(hit.hit_ids):
                decided = hit.decided
                apart = [row["hit_id"] for row in hit.rows if row["review_status"] != decided["review_status"]]
                review = Review(decided["review_status"], decided["reviewer"] or "", decided["review_reason"] or "",
                                decided["reviewed_at"] or utc_now())
                for target in dict.fromkeys((self.backend, self.store)):
                    for hit_id in apart:
                        target.set_review(hit_id, review)
        self.backend.refresh()

    def decide(self, user: User, hit_id: str, action: str, reason_code: str = "", note: str = "") -> str:
        """Override the ad's decision for one hit (every place of its rule on the version): confirm, dismiss
        (a reason code is required), or reopen — hand it back to the ad's decision; returns its new status."""
        self._check(action, reason_code)
        lead = self.lead_of(hit_id)
        hit = next(hit for hit in lead.hits if hit_id in hit.hit_ids)
        if hit.review_status == "transferred" or self.case_of_any(hit.hit_ids):
            raise DecisionError("该命中已提请或已移送稽查，不能再改 the hit is (being) transferred")
        status, reason = ACTIONS[action], self._reason(action, reason_code, note)
        ad = self.ad_decision(lead)
        if action == "reopen" and ad is not None:
            status, reason = ACTIONS[ad["action"]], self._reason(ad["action"], ad["reason_code"], ad["note"])
        self._write_status(hit.hit_ids, status, user, reason)
        self._record(user, hit, action, reason_code, note)
        return status

    def _record(self, user: User, hit: Hit, action: str, reason_code: str = "", note: str = "") -> None:
        now = utc_now()
        with self.db.transaction() as conn:
            for hit_id in hit.hit_ids:
                conn.execute("INSERT INTO decisions(hit_id, rule_id, action, reason_code, note, actor, at) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (hit_id, hit.rule_id, action, reason_code, note, user.username, now))
            self.db.audit(user.username, f"hit.{action}", hit.hit_id,
                          _detail(self.catalog.dismiss_reasons.get(reason_code, ""), note))

    def assign(self, user: User, hit_ids: list[str], assignee: User) -> int:
        """Assign the ads of ``hit_ids`` (each hit of them) to a reviewer; returns how many ads."""
        if assignee.role not in ("reviewer", "chief") or not assignee.active:
            raise DecisionError(f"{assignee.username} 不是在岗审核人员 is not an active reviewer")
        leads = {lead.ad_key: lead for lead in map(self.lead_of, hit_ids)}
        now = utc_now()
        with self.db.transaction() as conn:
            for lead in leads.values():
                for hit_id in lead.hit_ids:
                    conn.execute("INSERT OR REPLACE INTO assignments VALUES (?, ?, ?, ?)",
                                 (hit_id, assignee.username, user.username, now))
                self.db.audit(user.username, "hit.assign", lead.hit_id, f"{lead.title} → {assignee.display_name}")
        return len(leads)

    def dismiss_many(self, user: User, hit_ids: list[str], reason_code: str, note: str = "") -> list[str]:
        """Dismiss the ad of each hit; returns the ids whose ad could not be dismissed (unknown or transferred)."""
        refused = []
        for hit_id in hit_ids:
            try:
                self.decide_ad(user, hit_id, "dismiss", reason_code, note)
            except DecisionError:
                refused.append(hit_id)
        return refused

    # --- transfers ---

    def request_transfer(self, user: User, hit_id: str, case_no: str, inspector: str, note: str = "",
                         join: bool = False) -> Case:
        """Propose handing the ad of ``hit_id`` (its hits not dismissed) to the inspection corps; a chief's own
        request is approved at once.  With ``join``, the ad joins the case of that number (a case holds many
        ads): one awaiting approval, or — for a chief — one approved, under the same inspector."""
        case_no, inspector = case_no.strip(), inspector.strip()
        if not CASE_NO.match(case_no):
            raise DecisionError("案件编号不合规：1–40 个字符，字母、数字、汉字、-、()、〔〕 case number invalid")
        if not inspector:
            raise DecisionError("须选择承办稽查人员 an inspector is required")
        self._check_inspector(inspector)
        lead = self.lead_of(hit_id)
        existing = self.case(case_no)
        if existing is not None:
            self._check_join(user, existing, inspector, join)
        if self.case_of_any(lead.hit_ids) is not None:
            raise DecisionError("该广告已提请移送 the ad is already in a case")
        hits = [hit for hit in lead.hits if hit.review_status != "dismissed"]
        if not hits:
            raise DecisionError("该广告的命中均已排除，无可移送 every hit of the ad is dismissed")
        hit_ids = [i for hit in hits for i in hit.hit_ids]
        self.require_evidence(hit_ids)
        if existing is not None and existing.status == "approved":
            self._write_status(hit_ids, "transferred", user, f"移送稽查 {case_no}")
        else:
            self._write_status(hit_ids, "confirmed", user, f"提请移送 {case_no}")
        now = utc_now()
        with self.db.transaction() as conn:
            if existing is None:
                self.register.open(case_no, hits[0].hit_id, inspector, note, user.username)
            self.register.add_hits(case_no, hit_ids)
            conn.execute("INSERT INTO ad_decisions(ad_key, content_hash, action, reason_code, note, actor, at) "
                         "VALUES (?, ?, 'transfer', '', ?, ?, ?)",
                         (lead.ad_key, lead.content_hash, case_no, user.username, now))
            self.db.audit(user.username, "case.add" if existing else "case.request", case_no,
                          f"{lead.title}（{len(hits)} 项命中）→ {inspector}")
        if user.role == "chief" and existing is None:
            return self.approve(user, case_no)
        return self.case(case_no)  # type: ignore[return-value]

    @staticmethod
    def _check_join(user: User, case: Case, inspector: str, join: bool) -> None:
        if not join:
            raise DecisionError(f"案件编号已存在（如需并入该案件，请勾选“并入同号案件”） case number {case.case_no} "
                                "exists")
        if case.status == "approved" and user.role != "chief":
            raise DecisionError("已移送的案件只有科长/处长可以并入 only a chief adds to a transferred case")
        if case.status not in ("requested", "approved"):
            raise DecisionError(f"案件 {case.case_no} {case.status_label}，不能并入 the case takes no more ads")
        if case.inspector != inspector:
            raise DecisionError("承办人须与该案件一致 the inspector must be the case's")

    def _check_inspector(self, username: str) -> None:
        try:
            self.register.check_inspector(username)
        except CaseError as exc:
            raise DecisionError(str(exc)) from exc

    def missing_evidence(self, hit_ids: list[str]) -> list[str]:
        """The hits of ``hit_ids`` without evidence (none when evidence is not tracked here)."""
        if self.evidence is None:
            return []
        return [hit_id for hit_id in hit_ids if not self.evidence.captured([hit_id])]

    def require_evidence(self, hit_ids: list[str]) -> None:
        """Capture what has no evidence yet; refuse if any ad still has none."""
        missing = self.missing_evidence(hit_ids)
        if missing and self.capture is not None:
            missing = self.capture(missing)
        if missing:
            raise DecisionError(f"以下命中未能取证，不能移送 no evidence could be captured for: {', '.join(missing)}")

    def approve(self, user: User, case_no: str, inspector: str = "") -> Case:
        """Approve a request: its hits are transferred (their evidence captured first, if any lacks it).  A case
        asked for outside the console (``adwatch evidence case add``) may have no inspector yet: name one here."""
        case = self._open_case(case_no)
        inspector = case.inspector or inspector.strip()
        if not inspector:
            raise DecisionError("须先指定承办稽查人员 the case needs an inspector before approval")
        if not case.inspector:
            self._check_inspector(inspector)
        hit_ids = self.case_hit_ids(case_no)
        self.require_evidence(hit_ids)
        self._write_status(hit_ids, "transferred", user, f"移送稽查 {case_no}")
        with self.db.transaction() as conn:
            conn.execute("UPDATE cases SET status = 'approved', inspector = ?, approved_by = ?, approved_at = ? "
                         "WHERE case_no = ?", (inspector, user.username, utc_now(), case_no))
            self.db.audit(user.username, "case.approve", case_no, f"承办：{inspector}")
        return self.case(case_no)  # type: ignore[return-value]

    def reject(self, user: User, case_no: str, note: str = "") -> Case:
        """Return a request: the ad stays confirmed and may be decided again."""
        self._open_case(case_no)
        with self.db.transaction() as conn:
            conn.execute("UPDATE cases SET status = 'rejected', approved_by = ?, approved_at = ?, returned_reason = ? "
                         "WHERE case_no = ?", (user.username, utc_now(), note, case_no))
            self.db.audit(user.username, "case.reject", case_no, _detail(note, ""))
        return self.case(case_no)  # type: ignore[return-value]

    def dispositions(self, case_no: str) -> list[sqlite3.Row]:
        return self.db.conn.execute("SELECT * FROM case_dispositions WHERE case_no = ? ORDER BY id",
                                    (case_no,)).fetchall()

    def dispose(self, user: User, case_no: str, kind: str, document_no: str, amount: str = "",
                note: str = "") -> Case:
        """Record what was done with a transferred case (处置情况: 责令整改, 下架/删除, 立案, 移送, 罚没, 结案), with
        its document number; 罚没 needs the amount in 元, 结案 closes the case."""
        case = self.case(case_no)
        if case is None:
            raise DecisionError(f"没有该案件 no such case {case_no!r}")
        if case.status != "approved":
            raise DecisionError(f"案件 {case_no} {case.status_label}，不能记录处置 only a transferred case is handled")
        if kind not in self.catalog.dispositions:
            raise DecisionError(f"未知处置类型 unknown disposition {kind!r}")
        document_no = document_no.strip()
        if not DOCUMENT_NO.match(document_no):
            raise DecisionError("须填写文书编号（1–60 个字符） a document number is required")
        value = self._amount(kind, amount)
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO case_dispositions(case_no, kind, document_no, amount, note, actor, at) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)", (case_no, kind, document_no, value, note, user.username,
                                                          utc_now()))
            if kind == self.catalog.closing_disposition:
                conn.execute("UPDATE cases SET status = 'closed' WHERE case_no = ?", (case_no,))
            label = self.catalog.dispositions[kind] + (f" {value:.2f} 元" if value is not None else "")
            self.db.audit(user.username, "case.dispose", case_no, f"{label}；文书：{document_no}")
        return self.case(case_no)  # type: ignore[return-value]

    def _amount(self, kind: str, amount: str) -> float | None:
        if kind != self.catalog.penalty_disposition:
            return None
        try:
            value = float(amount.strip().replace(",", ""))
        except ValueError:
            value = -1.0
        if not 0 <= value < 1e12:
            raise DecisionError("罚没须填写金额（元） a penalty needs its amount in yuan")
        return value

    def _open_case(self, case_no: str) -> Case:
        case = self.case(case_no)
        if case is None:
            raise DecisionError(f"没有该案件 no such case {case_no!r}")
        if case.status != "requested":
            raise DecisionError(f"案件 {case_no} 已处理 already {case.status_label}")
        return case

"""The review workflow: assignments, decisions with reasons, transfers to the inspection corps, and their audit trail.

A decision is written three times on purpose: as a row in ``decisions`` (the
history of the hit), as a line in the append-only audit log, and as the hit's
review state in the search backend (so the queue can filter on it) — and in
the SQLite store too when the backend is a search engine, so evidence exports
read the same state.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Any

from crawler.exceptions import AdWatchError
from dashboards.accounts import User
from dashboards.catalog import Catalog
from dashboards.db import ConsoleDB, utc_now
from indexer.backend import AdIndex, Review
from indexer.sqlite import SqliteStore

#: Decision action → the review status it gives the hit.
ACTIONS = {"confirm": "confirmed", "dismiss": "dismissed", "reopen": "pending"}
STATUS_LABELS = {"pending": "待审核", "confirmed": "已确认", "dismissed": "已排除", "transferred": "已移送稽查"}
CASE_STATUS_LABELS = {"requested": "待批准", "approved": "已移送", "rejected": "已退回"}
CASE_NO = re.compile(r"^[\w\-()（）〔〕\[\]号第]{1,40}$")


class DecisionError(AdWatchError):
    """A decision that cannot be made (unknown hit, missing reason, case number taken …)."""


@dataclass(frozen=True)
class Case:
    case_no: str
    hit_id: str
    inspector: str
    note: str
    status: str
    requested_by: str
    requested_at: str
    approved_by: str | None
    approved_at: str | None

    @property
    def status_label(self) -> str:
        return CASE_STATUS_LABELS[self.status]


class Workflow:
    """Decisions on hits, over the console database and the search backend."""

    def __init__(self, db: ConsoleDB, backend: AdIndex, store: SqliteStore, catalog: Catalog) -> None:
        self.db, self.backend, self.store, self.catalog = db, backend, store, catalog

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

    def cases(self, statuses: tuple[str, ...] = ()) -> list[Case]:
        query = "SELECT * FROM cases"
        if statuses:
            query += f" WHERE status IN ({', '.join('?' * len(statuses))})"
        rows = self.db.conn.execute(query + " ORDER BY requested_at DESC, case_no", statuses).fetchall()
        return [Case(**dict(row)) for row in rows]

    def case(self, case_no: str) -> Case | None:
        row = self.db.conn.execute("SELECT * FROM cases WHERE case_no = ?", (case_no,)).fetchone()
        return Case(**dict(row)) if row else None

    def case_of_hit(self, hit_id: str) -> Case | None:
        row = self.db.conn.execute("SELECT * FROM cases WHERE hit_id = ? AND status != 'rejected'",
                                   (hit_id,)).fetchone()
        return Case(**dict(row)) if row else None

    def rule_quality(self) -> list[dict[str, Any]]:
        """Per rule, the latest decision on each hit: confirmed, dismissed (by reason), most dismissals first."""
        rows = self.db.conn.execute(
            """SELECT rule_id, action, reason_code, count(*) AS n FROM decisions
               WHERE id IN (SELECT max(id) FROM decisions GROUP BY hit_id)
               GROUP BY rule_id, action, reason_code""").fetchall()
        rules: dict[str, dict[str, Any]] = {}
        for row in rows:
            entry = rules.setdefault(row["rule_id"], {"rule_id": row["rule_id"], "confirmed": 0, "dismissed": 0,
                                                      "reasons": {}})
            if row["action"] in ("confirm", "transfer"):
                entry["confirmed"] += row["n"]
            elif row["action"] == "dismiss":
                entry["dismissed"] += row["n"]
                entry["reasons"][row["reason_code"]] = entry["reasons"].get(row["reason_code"], 0) + row["n"]
        for entry in rules.values():
            decided = entry["confirmed"] + entry["dismissed"]
            entry["dismissal_rate"] = entry["dismissed"] / decided if decided else 0.0
        return sorted(rules.values(), key=lambda e: (-e["dismissed"], -e["dismissal_rate"], e["rule_id"]))

    # --- deciding ---

    def _hit(self, hit_id: str) -> dict[str, Any]:
        hit = self.backend.get_hit(hit_id)
        if hit is None:
            raise DecisionError(f"没有该命中 no such hit {hit_id!r}")
        return hit

    def _set_status(self, hit_id: str, status: str, user: User, reason: str) -> None:
        review = Review(status=status, reviewer=user.username, reason=reason) if status != "pending" else \
            Review(status="pending", reviewer="", reason="", reviewed_at="")
        self.backend.set_review(hit_id, review)
        self.backend.refresh()  # the queue shows the decision at once, also on a search engine
        if self.backend is not self.store:
            self.store.set_review(hit_id, review)  # False (nothing to do) for a hit the store does not hold

    def decide(self, user: User, hit_id: str, action: str, reason_code: str = "", note: str = "") -> str:
        """Confirm, dismiss (a reason code is required) or reopen a hit; returns its new status."""
        if action not in ACTIONS:
            raise DecisionError(f"未知操作 unknown action {action!r}")
        if action == "dismiss" and reason_code not in self.catalog.dismiss_reasons:
            raise DecisionError("排除须选择理由 a dismissal needs one of the reason codes")
        hit = self._hit(hit_id)
        if hit["review_status"] == "transferred" or self.case_of_hit(hit_id):
            raise DecisionError("该命中已提请或已移送稽查，不能再改 the hit is (being) transferred")
        status = ACTIONS[action]
        reason = self.catalog.dismiss_reasons.get(reason_code, "") if action == "dismiss" else note
        # The backend first: if it is down, nothing is recorded anywhere and the reviewer simply tries again.
        self._set_status(hit_id, status, user, reason)
        self._record(user, hit, action, reason_code, note)
        return status

    def _record(self, user: User, hit: dict[str, Any], action: str, reason_code: str = "", note: str = "") -> None:
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO decisions(hit_id, rule_id, action, reason_code, note, actor, at) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (hit["hit_id"], hit["rule_id"], action, reason_code, note, user.username, utc_now()))
            self.db.audit(user.username, f"hit.{action}", hit["hit_id"],
                          " ".join(part for part in (reason_code, note) if part))

    def assign(self, user: User, hit_ids: list[str], assignee: User) -> int:
        if assignee.role not in ("reviewer", "chief") or not assignee.active:
            raise DecisionError(f"{assignee.username} 不是在岗审核人员 is not an active reviewer")
        now = utc_now()
        with self.db.transaction() as conn:
            for hit_id in hit_ids:
                conn.execute("INSERT OR REPLACE INTO assignments VALUES (?, ?, ?, ?)",
                             (hit_id, assignee.username, user.username, now))
                self.db.audit(user.username, "hit.assign", hit_id, assignee.username)
        return len(hit_ids)

    def dismiss_many(self, user: User, hit_ids: list[str], reason_code: str, note: str = "") -> list[str]:
        """Dismiss each hit; returns the ids that could not be dismissed (unknown or transferred)."""
        refused = []
        for hit_id in hit_ids:
            try:
                self.decide(user, hit_id, "dismiss", reason_code, note)
            except DecisionError:
                refused.append(hit_id)
        return refused

    # --- transfers ---

    def request_transfer(self, user: User, hit_id: str, case_no: str, inspector: str, note: str = "") -> Case:
        """Propose handing a hit to the inspection corps; a chief's own request is approved at once."""
        case_no, inspector = case_no.strip(), inspector.strip()
        if not CASE_NO.match(case_no):
            raise DecisionError("案件编号不合规：1–40 个字符，字母、数字、汉字、-、()、〔〕 case number invalid")
        if not inspector:
            raise DecisionError("须填写承办稽查人员 an inspector is required")
        hit = self._hit(hit_id)
        if self.case(case_no) is not None:
            raise DecisionError(f"案件编号已存在 case number {case_no} exists")
        if self.case_of_hit(hit_id) is not None:
            raise DecisionError("该命中已提请移送 the hit is already in a case")
        self._set_status(hit_id, "confirmed", user, f"提请移送 {case_no}")
        now = utc_now()
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO cases VALUES (?, ?, ?, ?, 'requested', ?, ?, NULL, NULL)",
                         (case_no, hit_id, inspector, note, user.username, now))
            conn.execute("INSERT INTO decisions(hit_id, rule_id, action, reason_code, note, actor, at) "
                         "VALUES (?, ?, 'transfer', '', ?, ?, ?)",
                         (hit_id, hit["rule_id"], case_no, user.username, now))
            self.db.audit(user.username, "case.request", case_no, f"{hit_id} → {inspector}")
        if user.role == "chief":
            return self.approve(user, case_no)
        return self.case(case_no)  # type: ignore[return-value]

    def approve(self, user: User, case_no: str) -> Case:
        case = self._open_case(case_no)
        self._set_status(case.hit_id, "transferred", user, f"移送稽查 {case_no}")
        with self.db.transaction() as conn:
            conn.execute("UPDATE cases SET status = 'approved', approved_by = ?, approved_at = ? WHERE case_no = ?",
                         (user.username, utc_now(), case_no))
            self.db.audit(user.username, "case.approve", case_no, case.hit_id)
        return self.case(case_no)  # type: ignore[return-value]

    def reject(self, user: User, case_no: str, note: str = "") -> Case:
        """Return a request: the hit stays confirmed and may be decided again."""
        self._open_case(case_no)
        with self.db.transaction() as conn:
            conn.execute("UPDATE cases SET status = 'rejected', approved_by = ?, approved_at = ? WHERE case_no = ?",
                         (user.username, utc_now(), case_no))
            self.db.audit(user.username, "case.reject", case_no, note)
        return self.case(case_no)  # type: ignore[return-value]

    def _open_case(self, case_no: str) -> Case:
        case = self.case(case_no)
        if case is None:
            raise DecisionError(f"没有该案件 no such case {case_no!r}")
        if case.status != "requested":
            raise DecisionError(f"案件 {case_no} 已处理 already {case.status_label}")
        return case

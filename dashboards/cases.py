"""The case register (案件登记): one register for the console, the ``adwatch evidence`` CLI and the exports.

A case has one number, one 承办 inspector (an account), the hits it holds (of one ad or many) and a state:
提请 (``requested``) → 批准移送 (``approved``) or 退回 (``rejected``) → 结案 (``closed``).  Its rows live in the
console database (:class:`~dashboards.db.ConsoleDB`, ``ADWATCH_CONSOLE_DB_PATH``); the console's workflow moves a
case through its states, the CLI opens cases and adds hits to them, and both export a case from here.  Cases that
an older ``adwatch evidence case add`` kept in the store's own ``cases`` table are adopted when the register is
opened beside that store (:meth:`CaseRegister.adopt_legacy`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from crawler.exceptions import AdWatchError
from dashboards.db import ConsoleDB, utc_now
from evidence.store import EvidenceStore

CASE_STATUS_LABELS = {"requested": "待批准", "approved": "已移送", "rejected": "已退回", "closed": "已结案"}
#: Who asked for a case adopted from the store's old table (the CLI recorded nobody).
LEGACY_REQUESTER = "命令行（旧案件）"
CASE_NO = re.compile(r"^[\w\-()（）〔〕\[\]号第]{1,40}$")


class CaseError(AdWatchError):
    """A case that cannot be opened or added to (number invalid, not an inspector, already transferred …)."""


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
    returned_reason: str = ""

    @property
    def status_label(self) -> str:
        return CASE_STATUS_LABELS[self.status]


class CaseRegister:
    """The cases, their hits and the people who moved them, over one console database."""

    def __init__(self, db: ConsoleDB) -> None:
        self.db = db

    def get(self, case_no: str) -> Case | None:
        row = self.db.conn.execute("SELECT * FROM cases WHERE case_no = ?", (case_no,)).fetchone()
        return Case(**dict(row)) if row else None

    def all(self, statuses: tuple[str, ...] = ()) -> list[Case]:
        """The cases (of ``statuses``, if given), latest request first."""
        query = "SELECT * FROM cases"
        if statuses:
            query += f" WHERE status IN ({', '.join('?' * len(statuses))})"
        rows = self.db.conn.execute(query + " ORDER BY requested_at DESC, case_no", statuses).fetchall()
        return [Case(**dict(row)) for row in rows]

    def hit_ids(self, case_no: str) -> list[str]:
        """Every hit the case holds, its first hit first."""
        rows = self.db.conn.execute("SELECT c.hit_id FROM case_hits c JOIN cases k ON k.case_no = c.case_no "
                                    "WHERE c.case_no = ? ORDER BY c.hit_id != k.hit_id, c.rowid", (case_no,))
        return [row[0] for row in rows]

    def open(self, case_no: str, first_hit: str, inspector: str, note: str, requested_by: str) -> None:
        """Register a new case awaiting approval (inside the caller's transaction, if any)."""
        self.db.conn.execute(
            "INSERT INTO cases(case_no, hit_id, inspector, note, status, requested_by, requested_at) "
            "VALUES (?, ?, ?, ?, 'requested', ?, ?)", (case_no, first_hit, inspector, note, requested_by, utc_now()))

    def add_hits(self, case_no: str, hit_ids: Iterable[str]) -> None:
        self.db.conn.executemany("INSERT OR IGNORE INTO case_hits(case_no, hit_id) VALUES (?, ?)",
                                 [(case_no, hit_id) for hit_id in hit_ids])

    def request(self, case_no: str, hit_ids: list[str], inspector: str, note: str, requested_by: str) -> None:
        """Ask for a transfer from outside the console (the CLI): a new case awaiting approval, or more hits for
        one still awaiting it, under the same inspector."""
        if not CASE_NO.match(case_no):
            raise CaseError("案件编号不合规：1–40 个字符，字母、数字、汉字、-、()、〔〕 case number invalid")
        if inspector:
            self.check_inspector(inspector)
        case = self.get(case_no)
        if case is not None and case.status != "requested":
            raise CaseError(f"案件 {case_no} {case.status_label}，只能在审核台办理 handle it in the console")
        if case is not None and inspector and inspector != case.inspector:
            raise CaseError("承办人须与该案件一致 the inspector must be the case's")
        taken = self.held_elsewhere(case_no, hit_ids)
        if taken:
            raise CaseError(f"命中已在其他案件中 already in another case: {', '.join(taken)}")
        with self.db.transaction():
            if case is None:
                self.open(case_no, hit_ids[0], inspector, note, requested_by)
            self.add_hits(case_no, hit_ids)
            self.db.audit(requested_by, "case.add" if case else "case.request", case_no,
                          f"命令行：{len(hit_ids)} 项命中" + (f" → {inspector}" if inspector else ""))

    def held_elsewhere(self, case_no: str, hit_ids: list[str]) -> list[str]:
        """Those of ``hit_ids`` another case holds (one awaiting approval, transferred or closed)."""
        rows = self.db.conn.execute(
            f"""SELECT c.hit_id FROM case_hits c JOIN cases k ON k.case_no = c.case_no WHERE k.status != 'rejected'
                AND k.case_no != ? AND c.hit_id IN ({', '.join('?' * len(hit_ids))})""", [case_no, *hit_ids])
        return [row[0] for row in rows]

    def check_inspector(self, username: str) -> None:
        """承办 is an account of the inspection corps, in post: the case is theirs to see."""
        row = self.db.conn.execute("SELECT role, active FROM users WHERE username = ?", (username,)).fetchone()
        if row is None or row["role"] != "inspector" or not row["active"]:
            raise CaseError(f"承办人须为在岗的稽查人员账号 {username!r} is not an active inspector account")

    def adopt_legacy(self, evidence: EvidenceStore) -> int:
        """Move the cases of the store's old ``cases`` table into the register, as requests; how many."""
        legacy = evidence.legacy_cases()
        if not legacy:
            return 0
        with self.db.transaction():
            for case_no, hit_ids in legacy.items():
                if self.get(case_no) is None:
                    self.open(case_no, hit_ids[0], "", "", LEGACY_REQUESTER)
                self.add_hits(case_no, hit_ids)
        evidence.drop_legacy_cases()
        return len(legacy)

    def custody_people(self, case_no: str) -> dict[str, Any]:
        """Who confirmed the case's ads and hits (asking for a transfer confirms them), who asked for the transfer
        and who approved it, by name."""
        case = self.get(case_no)
        if case is None:
            return {}
        ids = self.hit_ids(case_no)
        confirmers = self.db.conn.execute(
            f"""SELECT actor FROM decisions WHERE action = 'confirm' AND hit_id IN ({', '.join('?' * len(ids))})
                UNION SELECT actor FROM ad_decisions WHERE action = 'transfer' AND note = ?
                UNION SELECT actor FROM ad_decisions WHERE action = 'confirm' AND ad_key IN
                (SELECT ad_key FROM ad_decisions WHERE action = 'transfer' AND note = ?)""", [*ids, case_no, case_no])
        return {"confirmed_by": sorted(self.display_name(row[0]) for row in confirmers),
                "requested_by": self.display_name(case.requested_by),
                "approved_by": self.display_name(case.approved_by or "") if case.status != "rejected" else "",
                "approved_at": case.approved_at or "", "inspector": self.display_name(case.inspector),
                "transfer_note": case.note}

    def display_name(self, username: str) -> str:
        """``姓名（账号）`` of an account; the name as given when there is no such account."""
        row = self.db.conn.execute("SELECT display_name FROM users WHERE username = ?", (username,)).fetchone()
        return f"{row[0]}（{username}）" if row and row[0] and row[0] != username else username

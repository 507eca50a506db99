"""Chain of custody (保管链) of an export: who exported it, when, from which installation; for a case, who
confirmed its ads, asked for the transfer and approved it (by name), and the transfer note."""

from __future__ import annotations

import getpass
import platform
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evidence.record import software_versions, stamp

INSTALLATION_FILE = "installation-id"


def installation_id(data_dir: Path) -> str:
    """This installation's id: a UUID kept in ``<data dir>/installation-id``, made on first use."""
    path = data_dir / INSTALLATION_FILE
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    identifier = str(uuid.uuid4())
    path.write_text(identifier + "\n", encoding="utf-8")
    return identifier


def default_operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


#: What a case adds to the record (:meth:`dashboards.cases.CaseRegister.custody_people`).
CASE_FIELDS = ("confirmed_by", "requested_by", "approved_by", "approved_at", "inspector", "transfer_note")


def custody_record(
    operator: str, data_dir: Path, hit_ids: list[str], case_id: str = "", people: dict[str, Any] | None = None
) -> dict[str, Any]:
    case = {name: (people or {}).get(name, "") for name in CASE_FIELDS} if case_id else {}
    return {
        "format": "adwatch-custody/1",
        "exported_by": operator,
        "exported_at": stamp(datetime.now(UTC)),
        "installation_id": installation_id(data_dir),
        "host": platform.node(),
        "software": software_versions(),
        "case_id": case_id,
        **case,
        "hit_ids": hit_ids,
    }

"""``adwatch users …``: the console's accounts managed from the real CLI, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dashboards.accounts import Accounts
from dashboards.db import ConsoleDB

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "alice-password-1"
OpenAccounts = Callable[[], Accounts]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def adwatch_users(data_dir: Path, *args: str, stdin: str = "") -> Result:
    env = {**os.environ, "ADWATCH_DATA_DIR": str(data_dir), "COLUMNS": "160"}
    for name in ("ADWATCH_DB_PATH", "ADWATCH_CONSOLE_DB_PATH"):
        env.pop(name, None)
    proc = subprocess.run([sys.executable, "adwatch.py", "users", *args], cwd=REPO, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def accounts_of(tmp_path: Path) -> Iterator[OpenAccounts]:
    """Open the console database the CLI wrote (under the data folder), for checking."""
    opened: list[ConsoleDB] = []

    def open_accounts() -> Accounts:
        db = ConsoleDB(tmp_path / "console.db")
        opened.append(db)
        return Accounts(db)

    yield open_accounts
    for db in opened:
        db.close()


def test_added_user_is_listed_with_the_role_label(tmp_path: Path, accounts_of: OpenAccounts) -> None:
    added = adwatch_users(tmp_path, "add", "alice", "--role", "reviewer", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert "alice" in added.stdout

    listed = adwatch_users(tmp_path, "list")

    assert listed.returncode == 0, listed.stderr
    assert "alice" in listed.stdout
    assert "审核员" in listed.stdout
    assert "在用" in listed.stdout
    accounts = accounts_of()
    assert accounts.authenticate("alice", PASSWORD, "test") is not None  # the line end is not part of it
    assert PASSWORD.encode() not in (tmp_path / "console.db").read_bytes()


def test_password_line_ending_in_crlf_does_not_keep_the_carriage_return(tmp_path: Path,
                                                                        accounts_of: OpenAccounts) -> None:
    added = adwatch_users(tmp_path, "add", "alice", "--role", "reviewer", "--password-stdin", stdin=PASSWORD + "\r\n")
    assert added.returncode == 0, added.stderr

    assert accounts_of().authenticate("alice", PASSWORD, "test") is not None


def test_display_name_is_stored_and_listed(tmp_path: Path) -> None:
    added = adwatch_users(tmp_path, "add", "wang", "--role", "chief", "--name", "王科长", "--password-stdin",
                          stdin="wang-password-1\n")
    assert added.returncode == 0, added.stderr

    listed = adwatch_users(tmp_path, "list").stdout

    assert "王科长" in listed
    assert "科长/处长" in listed


def test_disabled_user_is_listed_as_disabled_and_cannot_log_in(tmp_path: Path, accounts_of: OpenAccounts) -> None:
    adwatch_users(tmp_path, "add", "alice", "--role", "reviewer", "--password-stdin", stdin=PASSWORD + "\n")

    disabled = adwatch_users(tmp_path, "disable", "alice")

    assert disabled.returncode == 0, disabled.stderr
    assert "停用" in adwatch_users(tmp_path, "list").stdout
    accounts = accounts_of()
    assert not accounts.get("alice").active
    assert accounts.authenticate("alice", PASSWORD, "test") is None


def test_enabled_again_the_user_can_log_in(tmp_path: Path, accounts_of: OpenAccounts) -> None:
    adwatch_users(tmp_path, "add", "alice", "--role", "reviewer", "--password-stdin", stdin=PASSWORD + "\n")
    adwatch_users(tmp_path, "disable", "alice")

    enabled = adwatch_users(tmp_path, "enable", "alice")

    assert enabled.returncode == 0, enabled.stderr
    assert accounts_of().authenticate("alice", PASSWORD, "test") is not None


def test_reset_password_from_stdin_replaces_the_old_one(tmp_path: Path, accounts_of: OpenAccounts) -> None:
    adwatch_users(tmp_path, "add", "alice", "--role", "reviewer", "--password-stdin", stdin=PASSWORD + "\n")

    reset = adwatch_users(tmp_path, "reset-password", "alice", "--password-stdin", stdin="second-password-2\n")

    assert reset.returncode == 0, reset.stderr
    accounts = accounts_of()
    assert accounts.authenticate("alice", PASSWORD, "test") is None
    assert accounts.authenticate("alice", "second-password-2", "test") is not None


def test_short_password_exits_non_zero_with_a_chinese_message_and_adds_nobody(tmp_path: Path) -> None:
    added = adwatch_users(tmp_path, "add", "alice", "--role", "reviewer", "--password-stdin", stdin="short\n")

    assert added.returncode != 0
    assert "密码至少" in added.stderr
    assert "Traceback" not in added.stderr
    assert "alice" not in adwatch_users(tmp_path, "list").stdout


def test_adding_an_existing_user_exits_non_zero(tmp_path: Path) -> None:
    adwatch_users(tmp_path, "add", "alice", "--role", "reviewer", "--password-stdin", stdin=PASSWORD + "\n")

    again = adwatch_users(tmp_path, "add", "alice", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")

    assert again.returncode != 0
    assert "用户已存在" in again.stderr


def test_unknown_role_exits_non_zero(tmp_path: Path) -> None:
    added = adwatch_users(tmp_path, "add", "alice", "--role", "superuser", "--password-stdin", stdin=PASSWORD + "\n")

    assert added.returncode != 0
    assert "superuser" in added.stderr


@pytest.mark.parametrize("command", ["disable", "enable"])
def test_unknown_user_exits_non_zero_with_a_chinese_message(tmp_path: Path, command: str) -> None:
    result = adwatch_users(tmp_path, command, "nobody")

    assert result.returncode != 0
    assert "没有该用户" in result.stderr
    assert "Traceback" not in result.stderr


def test_reset_password_of_an_unknown_user_exits_non_zero(tmp_path: Path) -> None:
    result = adwatch_users(tmp_path, "reset-password", "nobody", "--password-stdin", stdin="second-password-2\n")

    assert result.returncode != 0
    assert "没有该用户" in result.stderr

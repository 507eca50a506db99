"""Accounts of the review console: argon2 passwords, roles, throttled logins and server-side sessions."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dashboards.accounts import MIN_PASSWORD_LENGTH, PERMISSIONS, ROLES, AccountError, Accounts, User
from dashboards.db import ConsoleDB
from tests.dashboards.stores import open_services

PASSWORD = "correct-horse-42"
CLIENT = "10.0.0.7"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[ConsoleDB]:
    database = ConsoleDB(tmp_path / "console.db")
    yield database
    database.close()


@pytest.fixture
def accounts(db: ConsoleDB) -> Accounts:
    return Accounts(db, max_failures=3, window=60.0)


def audit_actions(db: ConsoleDB) -> list[tuple[str, str, str]]:
    return [(row["actor"], row["action"], row["target"]) for row in reversed(db.audit_entries())]


# --- adding users ---


def test_password_is_stored_as_an_argon2id_hash_never_in_plain_text(accounts: Accounts, db: ConsoleDB) -> None:
    accounts.add("alice", PASSWORD, "reviewer")

    [stored] = db.conn.execute("SELECT password_hash FROM users WHERE username = 'alice'").fetchone()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    with open(db.path, "rb") as raw:
        assert PASSWORD.encode() not in raw.read()


def test_the_same_password_gets_a_different_hash_for_each_user(accounts: Accounts, db: ConsoleDB) -> None:
    accounts.add("alice", PASSWORD, "reviewer")
    accounts.add("bob", PASSWORD, "reviewer")

    hashes = {row[0] for row in db.conn.execute("SELECT password_hash FROM users")}
    assert len(hashes) == 2


def test_added_user_is_active_with_its_role_and_display_name(accounts: Accounts) -> None:
    added = accounts.add("alice", PASSWORD, "chief", display_name="王科长")

    assert added == User("alice", "王科长", "chief", True)
    assert accounts.get("alice") == added
    assert added.role_label == "科长/处长"


def test_display_name_defaults_to_the_user_name(accounts: Accounts) -> None:
    assert accounts.add("bob", PASSWORD, "reviewer").display_name == "bob"


def test_adding_a_user_is_written_to_the_audit_log(accounts: Accounts, db: ConsoleDB) -> None:
    accounts.add("alice", PASSWORD, "reviewer", actor="root")

    assert ("root", "user.add", "alice") in audit_actions(db)


def test_password_shorter_than_the_minimum_is_refused(accounts: Accounts) -> None:
    with pytest.raises(AccountError, match=str(MIN_PASSWORD_LENGTH)):
        accounts.add("alice", "x" * (MIN_PASSWORD_LENGTH - 1), "reviewer")
    assert accounts.get("alice") is None


def test_password_of_exactly_the_minimum_length_is_accepted(accounts: Accounts) -> None:
    accounts.add("alice", "x" * MIN_PASSWORD_LENGTH, "reviewer")
    assert accounts.authenticate("alice", "x" * MIN_PASSWORD_LENGTH, CLIENT) is not None


def test_unknown_role_is_refused(accounts: Accounts) -> None:
    with pytest.raises(AccountError, match="superuser"):
        accounts.add("alice", PASSWORD, "superuser")
    assert accounts.list() == []


def test_user_name_with_spaces_or_markup_is_refused(accounts: Accounts) -> None:
    for name in ("alice smith", "<script>", "bob;drop", ""):
        with pytest.raises(AccountError):
            accounts.add(name, PASSWORD, "reviewer")
    assert accounts.list() == []


def test_duplicate_user_is_refused_and_the_first_keeps_its_password(accounts: Accounts) -> None:
    accounts.add("alice", PASSWORD, "reviewer")

    with pytest.raises(AccountError, match="alice"):
        accounts.add("alice", "another-password-9", "admin")

    assert accounts.get("alice").role == "reviewer"
    assert accounts.authenticate("alice", PASSWORD, CLIENT) is not None


def test_list_filters_by_role(accounts: Accounts) -> None:
    accounts.add("alice", PASSWORD, "reviewer")
    accounts.add("bob", PASSWORD, "reviewer")
    accounts.add("carol", PASSWORD, "inspector")

    assert [user.username for user in accounts.list("reviewer")] == ["alice", "bob"]
    assert [user.username for user in accounts.list("inspector")] == ["carol"]
    assert len(accounts.list()) == 3


# --- logging in ---


def test_right_password_logs_in_and_wrong_password_does_not(accounts: Accounts) -> None:
    accounts.add("alice", PASSWORD, "reviewer")

    assert accounts.authenticate("alice", PASSWORD, CLIENT) == accounts.get("alice")
    assert accounts.authenticate("alice", PASSWORD + "x", CLIENT) is None
    assert accounts.authenticate("alice", "", CLIENT) is None
    assert accounts.authenticate("nobody", PASSWORD, CLIENT) is None


def test_failed_login_is_written_to_the_audit_log(accounts: Accounts, db: ConsoleDB) -> None:
    accounts.add("alice", PASSWORD, "reviewer")
    accounts.authenticate("alice", "wrong-password", CLIENT)

    assert ("alice", "login.failed", CLIENT) in audit_actions(db)


def test_disabled_user_cannot_log_in_and_their_sessions_end(accounts: Accounts, db: ConsoleDB) -> None:
    alice = accounts.add("alice", PASSWORD, "reviewer")
    token = accounts.open_session(alice)
    assert accounts.session(token) is not None

    accounts.set_active("alice", False, actor="admin")

    assert accounts.session(token) is None
    assert db.conn.execute("SELECT count(*) FROM sessions WHERE username = 'alice'").fetchone()[0] == 0
    assert accounts.authenticate("alice", PASSWORD, CLIENT) is None
    assert not accounts.get("alice").active
    assert ("admin", "user.disable", "alice") in audit_actions(db)


def test_enabled_again_the_user_can_log_in(accounts: Accounts) -> None:
    accounts.add("alice", PASSWORD, "reviewer")
    accounts.set_active("alice", False)
    accounts.set_active("alice", True)

    assert accounts.authenticate("alice", PASSWORD, CLIENT) is not None


def test_disabling_an_unknown_user_is_refused(accounts: Accounts) -> None:
    with pytest.raises(AccountError, match="nobody"):
        accounts.set_active("nobody", False)


def test_reset_password_ends_sessions_and_only_the_new_password_works(accounts: Accounts, db: ConsoleDB) -> None:
    alice = accounts.add("alice", PASSWORD, "reviewer")
    token = accounts.open_session(alice)

    accounts.reset_password("alice", "brand-new-password-7", actor="admin")

    assert accounts.session(token) is None
    assert accounts.authenticate("alice", PASSWORD, CLIENT) is None
    assert accounts.authenticate("alice", "brand-new-password-7", CLIENT) is not None
    assert ("admin", "user.reset_password", "alice") in audit_actions(db)


def test_reset_to_a_short_password_is_refused_and_the_old_one_still_works(accounts: Accounts) -> None:
    accounts.add("alice", PASSWORD, "reviewer")

    with pytest.raises(AccountError):
        accounts.reset_password("alice", "short")

    assert accounts.authenticate("alice", PASSWORD, CLIENT) is not None


def test_reset_password_of_an_unknown_user_is_refused(accounts: Accounts) -> None:
    with pytest.raises(AccountError, match="nobody"):
        accounts.reset_password("nobody", "brand-new-password-7")


# --- throttling ---


def age_failures(db: ConsoleDB, seconds: float) -> None:
    """Move every recorded login failure ``seconds`` into the past (instead of waiting)."""
    db.conn.execute("UPDATE login_failures SET at = at - ?", (seconds,))


def test_after_max_failures_even_the_right_password_is_refused(accounts: Accounts) -> None:
    accounts.add("alice", PASSWORD, "reviewer")
    for _ in range(3):
        assert accounts.authenticate("alice", "wrong-password", CLIENT) is None

    assert accounts.throttled("alice", CLIENT)
    assert accounts.authenticate("alice", PASSWORD, CLIENT) is None
    assert accounts.authenticate("alice", PASSWORD, "192.168.1.99") is None  # per user name, from anywhere


def test_fewer_failures_than_the_limit_do_not_block_the_right_password(accounts: Accounts) -> None:
    accounts.add("alice", PASSWORD, "reviewer")
    for _ in range(2):
        accounts.authenticate("alice", "wrong-password", CLIENT)

    assert not accounts.throttled("alice", CLIENT)
    assert accounts.authenticate("alice", PASSWORD, CLIENT) is not None


def test_throttled_login_is_allowed_again_once_the_window_has_passed(accounts: Accounts, db: ConsoleDB) -> None:
    accounts.add("alice", PASSWORD, "reviewer")
    for _ in range(3):
        accounts.authenticate("alice", "wrong-password", CLIENT)
    age_failures(db, 30)
    assert accounts.authenticate("alice", PASSWORD, CLIENT) is None  # still inside the 60 s window

    age_failures(db, 31)

    assert not accounts.throttled("alice", CLIENT)
    assert accounts.authenticate("alice", PASSWORD, CLIENT) is not None


def test_successful_login_clears_the_users_failures(accounts: Accounts, db: ConsoleDB) -> None:
    accounts.add("alice", PASSWORD, "reviewer")
    for _ in range(2):
        accounts.authenticate("alice", "wrong-password", CLIENT)
    assert accounts.authenticate("alice", PASSWORD, CLIENT) is not None

    accounts.authenticate("alice", "wrong-password", CLIENT)

    assert accounts.authenticate("alice", PASSWORD, CLIENT) is not None


def test_one_client_guessing_many_user_names_is_throttled_for_every_name(accounts: Accounts) -> None:
    accounts.add("alice", PASSWORD, "reviewer")
    for number in range(3 * 4):  # max_failures × 4 from one address, spread over names
        accounts.authenticate(f"guess{number}", "wrong-password", "203.0.113.5")

    assert accounts.authenticate("alice", PASSWORD, "203.0.113.5") is None
    assert accounts.authenticate("alice", PASSWORD, CLIENT) is not None


def test_configured_max_failures_is_the_limit_the_console_applies(tmp_path: Path) -> None:
    with open_services(tmp_path, ADWATCH_CONSOLE_LOGIN_MAX_FAILURES=2) as services:
        services.accounts.add("alice", PASSWORD, "reviewer")
        services.accounts.authenticate("alice", "wrong-password", CLIENT)
        assert services.accounts.authenticate("alice", PASSWORD, CLIENT) is not None
        services.accounts.authenticate("alice", "wrong-password", CLIENT)
        services.accounts.authenticate("alice", "wrong-password", CLIENT)

        assert services.accounts.authenticate("alice", PASSWORD, CLIENT) is None


# --- sessions ---


def test_session_token_is_stored_only_as_its_sha256(accounts: Accounts, db: ConsoleDB) -> None:
    token = accounts.open_session(accounts.add("alice", PASSWORD, "reviewer"))

    [stored] = db.conn.execute("SELECT token_hash FROM sessions").fetchone()
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert db.conn.execute("SELECT count(*) FROM sessions WHERE token_hash = ?", (token,)).fetchone()[0] == 0


def test_session_gives_its_user_and_a_csrf_token(accounts: Accounts) -> None:
    alice = accounts.add("alice", PASSWORD, "reviewer")
    token = accounts.open_session(alice)
    other = accounts.open_session(alice)

    session = accounts.session(token)
    assert session.user == alice
    assert len(session.csrf_token) >= 32
    assert session.csrf_token != accounts.session(other).csrf_token
    assert token != other


def test_unknown_or_missing_token_has_no_session(accounts: Accounts) -> None:
    accounts.open_session(accounts.add("alice", PASSWORD, "reviewer"))

    assert accounts.session(None) is None
    assert accounts.session("") is None
    assert accounts.session("not-a-token") is None


def test_expired_session_is_refused(accounts: Accounts, db: ConsoleDB) -> None:
    token = accounts.open_session(accounts.add("alice", PASSWORD, "reviewer"))
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()

    db.conn.execute("UPDATE sessions SET expires_at = ?", (past,))

    assert accounts.session(token) is None


def test_session_lasts_the_configured_hours(db: ConsoleDB) -> None:
    accounts = Accounts(db, session_hours=2.0)
    token = accounts.open_session(accounts.add("alice", PASSWORD, "reviewer"))

    [created, expires] = db.conn.execute("SELECT created_at, expires_at FROM sessions").fetchone()
    lifetime = datetime.fromisoformat(expires) - datetime.fromisoformat(created)
    assert lifetime == timedelta(hours=2)
    assert accounts.session(token) is not None


def test_expired_sessions_are_purged_when_a_new_one_opens(accounts: Accounts, db: ConsoleDB) -> None:
    alice = accounts.add("alice", PASSWORD, "reviewer")
    accounts.open_session(alice)
    db.conn.execute("UPDATE sessions SET expires_at = ?", ((datetime.now(UTC) - timedelta(days=1)).isoformat(),))

    accounts.open_session(alice)

    assert db.conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 1


def test_logging_out_ends_only_that_session(accounts: Accounts) -> None:
    alice = accounts.add("alice", PASSWORD, "reviewer")
    token, other = accounts.open_session(alice), accounts.open_session(alice)

    accounts.close_session(token)

    assert accounts.session(token) is None
    assert accounts.session(other) is not None


# --- what each role may do ---

#: capability → (reviewer, chief, inspector, admin), spelled out rather than read from PERMISSIONS.
EXPECTED_MATRIX = {
    "review": (True, True, False, False),
    "assign": (False, True, False, False),
    "approve": (False, True, False, False),
    "report": (False, True, False, False),
    "cases": (False, True, True, False),
    "audit": (False, True, False, True),
    "users": (False, False, False, True),
    "monitor": (False, True, False, True),
    "plans": (False, True, False, True),
}
ROLE_ORDER = ("reviewer", "chief", "inspector", "admin")


def test_the_four_roles_and_their_labels() -> None:
    assert ROLES == {"reviewer": "审核员", "chief": "科长/处长", "inspector": "稽查", "admin": "管理员"}


def test_every_capability_of_the_console_is_in_the_expected_matrix() -> None:
    assert set(PERMISSIONS) == set(EXPECTED_MATRIX)


@pytest.mark.parametrize("capability", sorted(EXPECTED_MATRIX))
def test_user_can_exactly_what_their_role_allows(capability: str) -> None:
    allowed = {role: User(role, role, role, True).can(capability) for role in ROLE_ORDER}
    assert allowed == dict(zip(ROLE_ORDER, EXPECTED_MATRIX[capability], strict=True))


@pytest.mark.parametrize("role", ROLE_ORDER)
def test_inactive_user_can_do_nothing(role: str) -> None:
    user = User("x", "x", role, False)
    assert not any(user.can(capability) for capability in EXPECTED_MATRIX)

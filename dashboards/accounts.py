"""Accounts, roles and sessions: who may log in, what each role may do, server-side sessions with CSRF tokens.

Passwords are hashed with argon2id.  A session is a random token in an
HttpOnly cookie; only its SHA-256 is stored, beside the session's CSRF token.
Failed logins are counted per user name and per client address; past the
limit, logins are refused until the window has passed.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from crawler.exceptions import AdWatchError
from dashboards.db import ConsoleDB, utc_now

#: Role → label shown in the console.
ROLES: dict[str, str] = {
    "reviewer": "审核员",
    "chief": "科长/处长",
    "inspector": "稽查",
    "admin": "管理员",
}

#: What each capability lets a user do, and which roles have it.  Routes name the capability they need.
PERMISSIONS: dict[str, frozenset[str]] = {
    "review": frozenset({"reviewer", "chief"}),          # queue, detail, search, statistics, decisions, CSV
    "assign": frozenset({"chief"}),                       # assign hits to reviewers
    "approve": frozenset({"chief"}),                      # approve transfers to the inspection corps
    "report": frozenset({"chief"}),                       # monthly statistics sheet, rule quality
    "cases": frozenset({"chief", "inspector"}),           # transferred cases and their evidence
    "audit": frozenset({"chief", "admin"}),               # the audit log
    "users": frozenset({"admin"}),                        # accounts
    "monitor": frozenset({"chief", "admin"}),             # crawl monitor and site health; start and stop crawls
    "plans": frozenset({"chief", "admin"}),               # crawl plans: read, edit, pause, resume, crawl now
}

MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()
_UNKNOWN_USER_HASH = _hasher.hash("no such user: a password nobody can log in with")


class AccountError(AdWatchError):
    """An account operation that cannot be done (unknown user, weak password, unknown role …)."""


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    role: str
    active: bool

    @property
    def role_label(self) -> str:
        return ROLES[self.role]

    def can(self, capability: str) -> bool:
        return self.active and self.role in PERMISSIONS[capability]


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str


def _user(row: sqlite3.Row) -> User:
    return User(row["username"], row["display_name"], row["role"], bool(row["active"]))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _spend_a_verification(password: str) -> None:
    """As slow as a real check, so the answer's timing does not tell which user names exist."""
    try:
        _hasher.verify(_UNKNOWN_USER_HASH, password)
    except (VerificationError, InvalidHashError):
        pass


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"密码至少 {MIN_PASSWORD_LENGTH} 个字符 password needs {MIN_PASSWORD_LENGTH}+ characters")


class Accounts:
    """Users, login throttling and sessions in the console database."""

    def __init__(self, db: ConsoleDB, session_hours: float = 8.0, max_failures: int = 5,
                 window: float = 900.0) -> None:
        self.db = db
        self.session_lifetime = timedelta(hours=session_hours)
        self.max_failures, self.window = max_failures, window

    # --- users ---

    def add(self, username: str, password: str, role: str, display_name: str = "", actor: str = "cli") -> User:
        if role not in ROLES:
            raise AccountError(f"未知角色 unknown role {role!r}; 可用 known: {', '.join(ROLES)}")
        if not username.isidentifier() and not username.replace("-", "_").replace(".", "_").isidentifier():
            raise AccountError(f"用户名只能用字母、数字、-、_、. invalid user name {username!r}")
        _check_password(password)
        with self.db.transaction() as conn:
            try:
                conn.execute("INSERT INTO users VALUES (?, ?, ?, ?, 1, ?)",
                             (username, display_name or username, role, _hasher.hash(password), utc_now()))
            except sqlite3.IntegrityError as exc:
                raise AccountError(f"用户已存在 user {username!r} exists") from exc
            self.db.audit(actor, "user.add", username, role)
        return User(username, display_name or username, role, True)

    def get(self, username: str) -> User | None:
        row = self.db.conn.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
        return _user(row) if row else None

    def list(self, role: str | None = None) -> list[User]:
        rows = self.db.conn.execute("SELECT * FROM users ORDER BY role, username").fetchall()
        return [_user(row) for row in rows if role is None or row["role"] == role]

    def display_names(self) -> dict[str, str]:
        """Every account's display name (姓名) by its log-in name, to show people by name (and the command line,
        which adds accounts, by what it is)."""
        return {"cli": "命令行", **dict(self.db.conn.execute("SELECT username, display_name FROM users").fetchall())}

    def set_active(self, username: str, active: bool, actor: str = "cli") -> None:
        with self.db.transaction() as conn:
            if not conn.execute("UPDATE users SET active = ? WHERE username = ?", (int(active), username)).rowcount:
                raise AccountError(f"没有该用户 no such user {username!r}")
            if not active:
                conn.execute("DELETE FROM sessions WHERE username = ?", (username,))
            self.db.audit(actor, "user.enable" if active else "user.disable", username)

    def reset_password(self, username: str, password: str, actor: str = "cli") -> None:
        _check_password(password)
        with self.db.transaction() as conn:
            changed = conn.execute("UPDATE users SET password_hash = ? WHERE username = ?",
                                   (_hasher.hash(password), username)).rowcount
            if not changed:
                raise AccountError(f"没有该用户 no such user {username!r}")
            conn.execute("DELETE FROM sessions WHERE username = ?", (username,))
            self.db.audit(actor, "user.reset_password", username)

    # --- logging in ---

    def throttled(self, username: str, client: str) -> bool:
        """Whether too many logins failed lately for this user name or from this client."""
        since = time.time() - self.window
        by_user, by_client = self.db.conn.execute(
            "SELECT sum(username = ?), sum(client = ?) FROM login_failures WHERE at > ?",
            (username, client, since)).fetchone()
        return (by_user or 0) >= self.max_failures or (by_client or 0) >= self.max_failures * 4

    def authenticate(self, username: str, password: str, client: str) -> User | None:
        """The user, if the password is right, the account active and the login not throttled."""
        if self.throttled(username, client):
            return None
        row = self.db.conn.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
        if row is None:
            _spend_a_verification(password)
        elif row["active"] and self._verify(row, password):
            self.db.conn.execute("DELETE FROM login_failures WHERE username = ?", (username,))
            return _user(row)
        with self.db.transaction():
            self.db.conn.execute("INSERT INTO login_failures VALUES (?, ?, ?)", (username, client, time.time()))
            self.db.audit(username, "login.failed", client)
        return None

    def _verify(self, row: sqlite3.Row, password: str) -> bool:
        try:
            _hasher.verify(row["password_hash"], password)
        except (VerificationError, InvalidHashError):
            return False
        if _hasher.check_needs_rehash(row["password_hash"]):
            self.db.conn.execute("UPDATE users SET password_hash = ? WHERE username = ?",
                                 (_hasher.hash(password), row["username"]))
        return True

    # --- sessions ---

    def open_session(self, user: User) -> str:
        """A new session for ``user``; returns the token for the cookie."""
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE expires_at < ?", (now.isoformat(),))
            conn.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                         (_token_hash(token), user.username, secrets.token_urlsafe(32), now.isoformat(),
                          (now + self.session_lifetime).isoformat()))
            self.db.audit(user.username, "login", user.role)
        return token

    def session(self, token: str | None) -> Session | None:
        """The live session of ``token`` with its (active) user, or ``None``."""
        if not token:
            return None
        row = self.db.conn.execute(
            """SELECT s.csrf_token, s.expires_at, u.* FROM sessions s JOIN users u ON u.username = s.username
               WHERE s.token_hash = ?""", (_token_hash(token),)).fetchone()
        if row is None or not row["active"] or row["expires_at"] < datetime.now(UTC).isoformat():
            return None
        return Session(_user(row), row["csrf_token"])

    def close_session(self, token: str | None) -> None:
        if token:
            self.db.conn.execute("DELETE FROM sessions WHERE token_hash = ?", (_token_hash(token),))

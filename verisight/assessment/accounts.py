"""Accounts: users with argon2id passwords, login sessions, login rate limiting, welfare.

Session tokens are random; only their SHA-256 is stored, so a copy of the database does not
hold usable sessions. Every login attempt is audited. Each change (a user, a session, a
setting) and its audit entry are written in one transaction; changes that need a role check
it here (:meth:`Accounts.require`), not in the web routes.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection

from verisight.assessment import welfare as wf
from verisight.assessment.roles import Perm, Role, can
from verisight.assessment.welfare import ExposureSummary, WelfareSettings
from verisight.errors import Forbidden, UsageError, VerisightError
from verisight.store.audit import AuditLog
from verisight.store.db import begin
from verisight.store.users import SessionRecord, UserRecord, Users

MIN_PASSWORD = 10
SESSION_IDLE = timedelta(hours=8)


class TooManyAttempts(VerisightError):
    """Too many failed logins for this name or address: wait and retry."""


class RateLimiter:
    """At most ``attempts`` failures per key within ``window`` seconds."""

    def __init__(self, attempts: int = 5, window: float = 300.0) -> None:
        self.attempts = attempts
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            q = self._failures.get(key)
            while q and now - q[0] > self.window:
                q.popleft()
            return q is not None and len(q) >= self.attempts

    def fail(self, key: str) -> None:
        with self._lock:
            self._failures.setdefault(key, deque()).append(time.monotonic())

    def reset(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


@dataclass(frozen=True)
class LoginResult:
    user: UserRecord
    token: str
    csrf: str


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    def __init__(
        self,
        users: Users,
        audit: AuditLog,
        limiter: RateLimiter | None = None,
        hasher: PasswordHasher | None = None,
        transaction: Callable[[], AbstractContextManager[Connection]] | None = None,
    ) -> None:
        self.users = users
        self.audit = audit
        self.transaction = transaction or (lambda: begin(users.engine))
        self.limiter = limiter or RateLimiter()
        self.hasher = hasher or PasswordHasher()
        self._dummy = self.hasher.hash(secrets.token_hex(16))

    def require(self, user: UserRecord, perm: Perm) -> None:
        """Raise :class:`Forbidden` (and audit the refusal) unless the user's role allows it."""
        if not can(user.role, perm):
            self.audit.append(user.name, "denied", detail={"perm": perm.value})
            raise Forbidden(f"the {user.role} role may not {perm.value.replace('-', ' ')}")

    def add_user(self, name: str, role: str, password: str) -> UserRecord:
        if not name or len(name) > 100 or not name.isprintable() or name != name.strip():
            raise UsageError("a user name is 1 to 100 printable characters")
        try:
            Role(role)
        except ValueError:
            raise UsageError(f"role must be one of {', '.join(r.value for r in Role)}") from None
        if len(password) < MIN_PASSWORD:
            raise UsageError(f"a password has at least {MIN_PASSWORD} characters")
        password_hash = self.hasher.hash(password)
        with self.transaction() as conn:
            user = self.users.bind(conn).add(name, role, password_hash)
            self.audit.bind(conn).append(None, "user-add", detail={"user": name, "role": role})
        return user

    def login(self, name: str, password: str, address: str) -> LoginResult | None:
        """A new session, or None for bad credentials; raises TooManyAttempts."""
        keys = (f"name:{name}", f"addr:{address}")
        if any(self.limiter.blocked(k) for k in keys):
            self.audit.append(name, "login-blocked", detail={"address": address})
            raise TooManyAttempts("too many failed logins: wait a few minutes and try again")
        user = self.users.by_name(name)
        ok = False
        try:
            ok = self.hasher.verify(user.password_hash if user else self._dummy, password)
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or user is None or not user.active:
            for k in keys:
                self.limiter.fail(k)
            self.audit.append(name, "login-failed", detail={"address": address})
            return None
        self.limiter.reset(f"name:{name}")
        rehashed = (
            self.hasher.hash(password) if self.hasher.check_needs_rehash(user.password_hash)
            else None
        )  # fmt: skip
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self.transaction() as conn:
            users = self.users.bind(conn)
            if rehashed is not None:
                users.set_password_hash(user.id, rehashed)
            users.create_session(token_id(token), user.id, csrf)
            self.audit.bind(conn).append(
                user.name, "login", detail={"address": address, "role": user.role}
            )
        return LoginResult(user, token, csrf)

    def session(self, token: str | None) -> SessionRecord | None:
        if not token:
            return None
        s = self.users.session(token_id(token))
        if s is None or not s.user.active:
            return None
        if datetime.now(UTC) - s.last_seen_at > SESSION_IDLE:
            self.users.delete_session(s.id)
            return None
        self.users.touch_session(s.id)
        return s

    def logout(self, s: SessionRecord) -> None:
        with self.transaction() as conn:
            self.users.bind(conn).delete_session(s.id)
            self.audit.bind(conn).append(s.user.name, "logout")

    def took_break(self, s: SessionRecord) -> None:
        with self.transaction() as conn:
            self.users.bind(conn).touch_session(s.id, took_break=True)
            self.audit.bind(conn).append(s.user.name, "break")

    # welfare
    def welfare(self, user: UserRecord) -> WelfareSettings:
        fresh = self.users.by_id(user.id) or user
        return wf.resolve(self.users.org_setting("welfare"), fresh.settings)

    def org_welfare(self) -> dict[str, Any]:
        return self.users.org_setting("welfare")

    def set_user_welfare(self, user: UserRecord, values: dict[str, Any]) -> None:
        good = {k: wf.parse(k, v) for k, v in values.items()}
        with self.transaction() as conn:
            self.users.bind(conn).set_settings(user.id, good)
            self.audit.bind(conn).append(user.name, "settings", detail={"user": good})

    def set_org_welfare(self, admin: UserRecord, values: dict[str, Any]) -> None:
        """The organisation's welfare defaults (needs the ``manage`` permission)."""
        self.require(admin, Perm.MANAGE)
        good = {k: wf.parse(k, v) for k, v in values.items()}
        with self.transaction() as conn:
            self.users.bind(conn).set_org_setting("welfare", good)
            self.audit.bind(conn).append(admin.name, "org-settings", detail={"welfare": good})

    def exposure(self, user: UserRecord) -> ExposureSummary:
        now = datetime.now(UTC)
        since = now.replace(hour=0, minute=0, second=0, microsecond=0)
        rows = self.users.exposures(user.id, since)
        return wf.summarise(
            since, now, [(r.media_sha256, r.revealed_at, r.concealed_at) for r in rows]
        )

"""Accounts: users with argon2id passwords, login sessions, login rate limiting, welfare.

Session tokens are random; only their SHA-256 is stored, so a copy of the database does not
hold usable sessions. Every login attempt that reaches a password check is audited, with
bounded fields only: a failure for an unknown name records the SHA-256 of the submitted name,
never the text (an attacker cannot grow the log with it). Attempts the rate limiter refuses
are not audited, only counted (:attr:`RateLimiter.refused`).

Rate limiting is per (name, address) pair and per address, never per name alone: a stranger
who knows a user's name can slow down only his own address, not lock the user out.

Each change (a user, a session, a setting) and its audit entry are written in one
transaction; changes that need a role check it here (:meth:`Accounts.require`),
not in the web routes.
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

from verisight.assessment import names
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
    """At most ``attempts`` failures per key within ``window`` seconds.

    :attr:`refused` counts the attempts turned away while blocked (they are not audited).
    Keys are forgotten once their failures age out, so memory follows recent failures only."""

    MAX_KEYS = 100_000

    def __init__(self, attempts: int = 5, window: float = 300.0) -> None:
        self.attempts = attempts
        self.window = window
        self.refused = 0
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def refuse(self) -> None:
        with self._lock:
            self.refused += 1

    def blocked(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            q = self._failures.get(key)
            while q and now - q[0] > self.window:
                q.popleft()
            if q is not None and not q:
                del self._failures[key]
            return q is not None and len(q) >= self.attempts

    def fail(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._failures) >= self.MAX_KEYS:  # many names or addresses: drop stale
                self._failures = {
                    k: q for k, q in self._failures.items() if q and now - q[-1] <= self.window
                }
            self._failures.setdefault(key, deque()).append(now)

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


def _check_role(role: str) -> None:
    try:
        Role(role)
    except ValueError:
        raise UsageError(f"role must be one of {', '.join(r.value for r in Role)}") from None


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"a password has at least {MIN_PASSWORD} characters")


def _actor(by: UserRecord | None) -> str | None:
    return by.name if by is not None else None


def temporary_password() -> str:
    """A random password an admin hands on once (changed at the first login)."""
    return secrets.token_urlsafe(12)


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

    def add_user(
        self,
        name: str,
        role: str,
        password: str,
        *,
        by: UserRecord | None = None,
        must_change: bool = False,
    ) -> UserRecord:
        """A new user; ``by``: the admin adding her from the web (checked and audited as
        the actor), None for the operator's shell. ``must_change``: the password is a
        temporary one, to be changed at the first login."""
        if by is not None:
            self.require(by, Perm.MANAGE)
        _check_role(role)
        name = names.normalise(name)
        why = names.problem(name, [u.name for u in self.users.all()])
        if why is not None:
            raise UsageError(why)
        _check_password(password)
        password_hash = self.hasher.hash(password)
        with self.transaction() as conn:
            user = self.users.bind(conn).add(name, role, password_hash, must_change=must_change)
            self.audit.bind(conn).append(
                _actor(by), "user-add", detail={"user": name, "role": role}
            )
        return user

    # operator actions (``verisight user …``): each change and its audit entry in one transaction
    def _named(self, name: str) -> UserRecord:
        user = self.users.by_name(names.normalise(name))
        if user is None:
            raise UsageError(f"no user named {name!r}")
        return user

    def _operated(self, name: str, by: UserRecord | None) -> UserRecord:
        """The user ``name`` an operator acts on; an admin from the web needs ``manage``
        and may not lock herself out (disable, demote, reset or revoke herself)."""
        if by is not None:
            self.require(by, Perm.MANAGE)
        user = self._named(name)
        if by is not None and user.id == by.id:
            raise UsageError("an admin cannot do this to her own account: ask another admin")
        return user

    def set_active(self, name: str, active: bool, *, by: UserRecord | None = None) -> UserRecord:
        """Disable (ending every session) or enable a user."""
        user = self._operated(name, by)
        with self.transaction() as conn:
            users = self.users.bind(conn)
            users.set_active(user.id, active)
            ended = 0 if active else users.delete_sessions_of(user.id)
            self.audit.bind(conn).append(
                _actor(by), "user-enable" if active else "user-disable",
                detail={"user": user.name, "sessions_ended": ended},
            )  # fmt: skip
        return self._fresh(user)

    def _fresh(self, user: UserRecord) -> UserRecord:
        fresh = self.users.by_id(user.id)
        assert fresh is not None
        return fresh

    def set_role(self, name: str, role: str, *, by: UserRecord | None = None) -> UserRecord:
        """Change a user's role; her sessions end, so the next one has the new role's menu."""
        user = self._operated(name, by)
        _check_role(role)
        with self.transaction() as conn:
            users = self.users.bind(conn)
            users.set_role(user.id, role)
            ended = users.delete_sessions_of(user.id)
            self.audit.bind(conn).append(_actor(by), "user-role", detail={
                "user": user.name, "from": user.role, "to": role, "sessions_ended": ended,
            })  # fmt: skip
        return self._fresh(user)

    def reset_password(self, name: str, password: str, *, by: UserRecord | None = None) -> int:
        """Set a new (temporary) password and end every session of the user; how many were
        ended. The user must change the password at the next login (``must_change_password``:
        her session can do nothing else until she has)."""
        _check_password(password)
        user = self._operated(name, by)
        password_hash = self.hasher.hash(password)
        with self.transaction() as conn:
            users = self.users.bind(conn)
            users.set_password_hash(user.id, password_hash, must_change=True)
            ended = users.delete_sessions_of(user.id)
            self.audit.bind(conn).append(
                _actor(by), "user-password",
                detail={"user": user.name, "sessions_ended": ended, "must_change": True},
            )  # fmt: skip
        return ended

    def revoke_sessions(self, name: str, *, by: UserRecord | None = None) -> int:
        """End every session of the user (logged out everywhere); how many were ended."""
        user = self._operated(name, by)
        with self.transaction() as conn:
            ended = self.users.bind(conn).delete_sessions_of(user.id)
            self.audit.bind(conn).append(
                _actor(by), "user-sessions-revoked",
                detail={"user": user.name, "sessions_ended": ended},
            )  # fmt: skip
        return ended

    def change_password(self, s: SessionRecord, current: str, new: str) -> None:
        """The user changes her own password (the current one proves it is her); clears a
        forced change and ends her other sessions."""
        user = self._fresh(s.user)
        key = f"change:{user.id}"  # a stolen session cannot guess the password at leisure
        if self.limiter.blocked(key):
            self.limiter.refuse()
            raise TooManyAttempts("too many wrong passwords: wait a few minutes and try again")
        ok: bool
        try:
            ok = self.hasher.verify(user.password_hash, current)
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok:
            self.limiter.fail(key)
            self.audit.append(user.name, "password-change-failed")
            raise UsageError("the current password is wrong")
        self.limiter.reset(key)
        _check_password(new)
        if new == current:
            raise UsageError("the new password must differ from the current one")
        password_hash = self.hasher.hash(new)
        with self.transaction() as conn:
            users = self.users.bind(conn)
            users.set_password_hash(user.id, password_hash, must_change=False)
            ended = users.delete_sessions_of(user.id, keep=s.id)
            self.audit.bind(conn).append(
                user.name, "password-change", detail={"sessions_ended": ended}
            )

    def login(self, name: str, password: str, address: str) -> LoginResult | None:
        """A new session, or None for bad credentials; raises TooManyAttempts.

        Any submitted text is safe here: a name that could not be stored (too long, a NUL)
        is a failed login like any other, counted by the limiter and audited by its hash."""
        name = names.normalise(name)
        address = address[:64]
        name_key = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
        keys = (f"pair:{name_key}:{address}", f"addr:{address}")
        if any(self.limiter.blocked(k) for k in keys):
            self.limiter.refuse()
            raise TooManyAttempts("too many failed logins: wait a few minutes and try again")
        user = self.users.by_name(name) if names.valid(name) else None
        ok = False
        try:
            ok = self.hasher.verify(user.password_hash if user else self._dummy, password)
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or user is None or not user.active:
            for k in keys:
                self.limiter.fail(k)
            who: dict[str, Any] = (
                {"user": user.name} if user is not None else {"unknown_name_sha256": name_key}
            )
            actor = user.name if user is not None else None
            self.audit.append(actor, "login-failed", detail={"address": address} | who)
            return None
        self.limiter.reset(keys[0])
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

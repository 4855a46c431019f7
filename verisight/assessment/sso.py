"""Single sign-on: logging in as the user linked to a verified OpenID Connect identity.

The web app (:mod:`verisight.web.oidc`) checks the provider's ID token; this service decides
who that is and whether they may in, in one transaction with its audit entries:

- an identity is the pair (issuer, subject) and is linked to one user; a first login
  provisions a new user and links it, never an existing user found by name or e-mail (a local
  ``alice`` is not taken over by a provider's ``alice``; the newcomer gets another name);
- the role comes from the provider's claim, already mapped by the caller; no mapped role means
  no entry (``login-refused``, no user created), and a changed role is applied and audited;
- a disabled user stays out (``login-refused``), however they arrive, and so does a first
  sign-in under a disabled user's name (refused, never linked);
- an operator may link an existing user to an identity (``verisight user link-sso``);
- provisioned users have no password (the stored hash is not a hash: a password login always
  fails) and their sessions are the same as a password login's.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import Connection

from verisight.assessment import names
from verisight.assessment.accounts import LoginResult, token_id
from verisight.assessment.roles import Role
from verisight.errors import Forbidden, UsageError
from verisight.store.audit import AuditLog
from verisight.store.identities import Identities
from verisight.store.users import UserRecord, Users

#: Stored in place of a password hash for users provisioned by single sign-on: argon2 refuses
#: it as a hash, so no password logs them in (an operator may set one with reset-password).
NO_PASSWORD = "!sso"
#: Bounds on what a token may put in the database and the audit log.
MAX_FIELD = 255


class SsoRefused(Forbidden):
    """A verified identity that may not log in (no mapped role, or a disabled user)."""


@dataclass(frozen=True)
class Identity:
    """What the provider vouched for, in a verified ID token."""

    issuer: str
    subject: str
    #: A name to provision a new user under (``preferred_username``, ``name`` or ``email``).
    name_hint: str
    #: The Verisight role the claim maps to, or None when it maps to none.
    role: str | None


class SingleSignOn:
    def __init__(
        self,
        users: Users,
        identities: Identities,
        audit: AuditLog,
        transaction: Callable[[], AbstractContextManager[Connection]],
    ) -> None:
        self.users = users
        self.identities = identities
        self.audit = audit
        self.transaction = transaction

    def failed(self, issuer: str, reason: str, address: str) -> None:
        """Audit a sign-in whose token or exchange failed a check (``login-failed``)."""
        self.audit.append(None, "login-failed", detail={
            "via": "oidc", "issuer": issuer[:MAX_FIELD], "reason": reason[:MAX_FIELD],
            "address": address[:64],
        })  # fmt: skip

    def login(self, who: Identity, address: str) -> LoginResult:
        """A session for the identity's user (provisioned on first login); raises
        :class:`SsoRefused`, audited, when the role is unmapped or the user disabled."""
        issuer, subject = who.issuer[:MAX_FIELD], who.subject[:MAX_FIELD]
        seen: dict[str, str] = {"via": "oidc", "issuer": issuer, "subject": subject,
                                "address": address[:64]}  # fmt: skip
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self.transaction() as conn:
            users, identities = self.users.bind(conn), self.identities.bind(conn)
            audit = self.audit.bind(conn)
            linked = identities.user_id(issuer, subject)
            user = users.by_id(linked) if linked is not None else None
            refusal = self._refusal(who.role, user) or (
                self._disabled_namesake(who, users) if user is None else None
            )
            if refusal is not None:
                actor = user.name if user is not None else None
                audit.append(actor, "login-refused", detail=seen | {"reason": refusal})
            else:
                assert who.role is not None
                if user is None:
                    user = users.add(self._free_name(who, users), who.role, NO_PASSWORD)
                    identities.link(issuer, subject, user.id)
                    audit.append(None, "user-add", detail=seen | {"user": user.name,
                                                                  "role": user.role})  # fmt: skip
                elif user.role != who.role:
                    identities.set_role(user.id, who.role)
                    audit.append(None, "user-role", detail=seen | {
                        "user": user.name, "from": user.role, "to": who.role})  # fmt: skip
                    user = users.by_id(user.id)
                    assert user is not None
                identities.logged_in(issuer, subject)
                users.create_session(token_id(token), user.id, csrf)
                audit.append(user.name, "login", detail=seen | {"role": user.role})
        if refusal is not None:  # raised after the commit: the refusal stays in the log
            raise SsoRefused(refusal)
        assert user is not None
        return LoginResult(user, token, csrf)

    @staticmethod
    def _refusal(role: str | None, user: UserRecord | None) -> str | None:
        if user is not None and not user.active:
            return "this account is disabled"
        if role is None or role not in {r.value for r in Role}:
            return "your account has no Verisight role at the identity provider"
        return None

    @staticmethod
    def _disabled_namesake(who: Identity, users: Users) -> str | None:
        """A first sign-in under the name (or a look-alike) of a disabled user is refused: it
        is most likely that person, whom an operator shut out (never a link, only a refusal)."""
        base = names.normalise(who.name_hint)
        if not names.valid(base):
            return None
        mine = names.skeleton(base)
        for u in users.all():
            if not u.active and names.skeleton(u.name) == mine:
                return f"the account {u.name!r} is disabled"
        return None

    def link(self, name: str, issuer: str, subject: str) -> UserRecord:
        """Link an existing user to an identity: that sign-in then logs in as them (audited).
        An identity links to one user; a user may have several identities."""
        if not issuer or not subject or max(len(issuer), len(subject)) > MAX_FIELD:
            raise UsageError(f"an issuer and a subject are 1 to {MAX_FIELD} characters")
        user = self.users.by_name(names.normalise(name))
        if user is None:
            raise UsageError(f"no user named {name!r}")
        with self.transaction() as conn:
            identities = self.identities.bind(conn)
            other = identities.user_id(issuer, subject)
            if other is not None:
                taken = self.users.bind(conn).by_id(other)
                raise UsageError(
                    f"that identity is linked to {taken.name if taken else other!r} already"
                )
            identities.link(issuer, subject, user.id)
            self.audit.bind(conn).append(None, "user-link", detail={
                "user": user.name, "issuer": issuer, "subject": subject})  # fmt: skip
        return user

    @staticmethod
    def _free_name(who: Identity, users: Users) -> str:
        """The name hint if no user has it (or a look-alike), else with a number, else one
        made from the identity."""
        taken = [u.name for u in users.all()]
        base = names.normalise(who.name_hint)[:80].strip()
        for candidate in [base, *(f"{base}-{n}" for n in range(2, 10))] if base else []:
            if names.problem(candidate, taken) is None:
                return candidate
        digest = hashlib.sha256(f"{who.issuer}\n{who.subject}".encode()).hexdigest()
        return f"sso-{digest[:12]}"

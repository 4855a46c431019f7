"""SQL for single sign-on: OpenID Connect identities linked to users (``sso_identity``).

An identity is the pair (issuer, subject) an ID token names; it is linked to exactly one user,
never found by e-mail or display name. The role of a linked user follows the provider's claim,
so this module also sets that role (the rules are in :mod:`verisight.assessment.sso`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, Table, select, update

from verisight.store.db import Bindable
from verisight.store.schema import AppUser, SsoIdentity

_IDENTITY: Table = SsoIdentity.__table__  # type: ignore[assignment]
_USER: Table = AppUser.__table__  # type: ignore[assignment]


class Identities(Bindable):
    """Role interface over ``sso_identity`` (and the role column of linked users)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def user_id(self, issuer: str, subject: str) -> int | None:
        """The user this identity is linked to, if any."""
        with self._reading() as conn:
            found = conn.execute(
                select(_IDENTITY.c.user_id).where(
                    _IDENTITY.c.issuer == issuer, _IDENTITY.c.subject == subject
                )
            ).scalar()
        return None if found is None else int(found)

    def link(self, issuer: str, subject: str, user_id: int) -> None:
        with self._writing() as conn:
            conn.execute(
                _IDENTITY.insert().values(
                    issuer=issuer, subject=subject, user_id=user_id, created_at=datetime.now(UTC)
                )
            )

    def logged_in(self, issuer: str, subject: str) -> None:
        with self._writing() as conn:
            conn.execute(
                update(_IDENTITY)
                .where(_IDENTITY.c.issuer == issuer, _IDENTITY.c.subject == subject)
                .values(last_login_at=datetime.now(UTC))
            )

    def set_role(self, user_id: int, role: str) -> None:
        with self._writing() as conn:
            conn.execute(update(_USER).where(_USER.c.id == user_id).values(role=role))

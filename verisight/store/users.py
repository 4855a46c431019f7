"""Users, login sessions, organisation settings and exposure records (SQL only, no rules).

Callers hash passwords and tokens; this module stores what it is given and returns
dataclasses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Row, Table, delete, select, update
from sqlalchemy.exc import IntegrityError

from verisight.errors import UsageError
from verisight.store.db import Bindable
from verisight.store.schema import AppUser, Exposure, OrgSetting, WebSession

_USER: Table = AppUser.__table__  # type: ignore[assignment]
_SESSION: Table = WebSession.__table__  # type: ignore[assignment]
_ORG: Table = OrgSetting.__table__  # type: ignore[assignment]
_EXPOSURE: Table = Exposure.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class UserRecord:
    id: int
    name: str
    role: str
    active: bool
    password_hash: str
    settings: dict[str, Any]
    must_change_password: bool = False


@dataclass(frozen=True)
class SessionRecord:
    id: str
    user: UserRecord
    csrf: str
    created_at: datetime
    last_seen_at: datetime
    break_at: datetime


@dataclass(frozen=True)
class ExposureRecord:
    media_sha256: str
    revealed_at: datetime
    concealed_at: datetime | None


def _user(r: Row[Any]) -> UserRecord:
    return UserRecord(
        r.id, r.name, r.role, bool(r.active), r.password_hash, json.loads(r.settings or "{}"),
        bool(r.must_change_password),
    )  # fmt: skip


class Users(Bindable):
    """Role interface over ``app_user``, ``web_session``, ``org_setting`` and ``exposure``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # users
    def add(
        self, name: str, role: str, password_hash: str, *, must_change: bool = False
    ) -> UserRecord:
        try:
            with self._writing() as conn:
                conn.execute(
                    _USER.insert().values(
                        name=name,
                        role=role,
                        password_hash=password_hash,
                        active=True,
                        must_change_password=must_change,
                        settings=None,
                        created_at=datetime.now(UTC),
                    )
                )
        except IntegrityError as exc:
            raise UsageError(f"a user named {name!r} already exists") from exc
        user = self.by_name(name)
        assert user is not None
        return user

    def by_name(self, name: str) -> UserRecord | None:
        with self._reading() as conn:
            r = conn.execute(select(_USER).where(_USER.c.name == name)).first()
        return _user(r) if r else None

    def by_id(self, user_id: int) -> UserRecord | None:
        with self._reading() as conn:
            r = conn.execute(select(_USER).where(_USER.c.id == user_id)).first()
        return _user(r) if r else None

    def all(self) -> list[UserRecord]:
        with self._reading() as conn:
            return [_user(r) for r in conn.execute(select(_USER).order_by(_USER.c.name))]

    def set_password_hash(
        self, user_id: int, password_hash: str, *, must_change: bool | None = None
    ) -> None:
        """A new hash; ``must_change`` sets or clears the forced change (None: leave it)."""
        values: dict[str, Any] = {"password_hash": password_hash}
        if must_change is not None:
            values["must_change_password"] = must_change
        with self._writing() as conn:
            conn.execute(update(_USER).where(_USER.c.id == user_id).values(**values))

    def set_role(self, user_id: int, role: str) -> None:
        with self._writing() as conn:
            conn.execute(update(_USER).where(_USER.c.id == user_id).values(role=role))

    def set_active(self, user_id: int, active: bool) -> None:
        with self._writing() as conn:
            conn.execute(update(_USER).where(_USER.c.id == user_id).values(active=active))

    def set_settings(self, user_id: int, settings: dict[str, Any]) -> None:
        with self._writing() as conn:
            conn.execute(
                update(_USER)
                .where(_USER.c.id == user_id)
                .values(settings=json.dumps(settings, sort_keys=True))
            )

    # sessions
    def create_session(self, session_id: str, user_id: int, csrf: str) -> None:
        now = datetime.now(UTC)
        with self._writing() as conn:
            conn.execute(
                _SESSION.insert().values(
                    id=session_id,
                    user_id=user_id,
                    csrf=csrf,
                    created_at=now,
                    last_seen_at=now,
                    break_at=now,
                )
            )

    def session(self, session_id: str) -> SessionRecord | None:
        with self._reading() as conn:
            s = conn.execute(select(_SESSION).where(_SESSION.c.id == session_id)).first()
            if s is None:
                return None
            u = conn.execute(select(_USER).where(_USER.c.id == s.user_id)).first()
        if u is None:
            return None
        return SessionRecord(s.id, _user(u), s.csrf, s.created_at, s.last_seen_at, s.break_at)

    def touch_session(self, session_id: str, *, took_break: bool = False) -> None:
        now = datetime.now(UTC)
        values: dict[str, Any] = {"last_seen_at": now}
        if took_break:
            values["break_at"] = now
        with self._writing() as conn:
            conn.execute(update(_SESSION).where(_SESSION.c.id == session_id).values(**values))

    def delete_session(self, session_id: str) -> None:
        with self._writing() as conn:
            conn.execute(delete(_SESSION).where(_SESSION.c.id == session_id))

    def delete_sessions_of(self, user_id: int, *, keep: str | None = None) -> int:
        """End every session of the user (but ``keep``); how many there were."""
        q = delete(_SESSION).where(_SESSION.c.user_id == user_id)
        if keep is not None:
            q = q.where(_SESSION.c.id != keep)
        with self._writing() as conn:
            done = conn.execute(q)
        return int(done.rowcount)

    # organisation settings
    def org_setting(self, key: str) -> dict[str, Any]:
        with self._reading() as conn:
            v = conn.execute(select(_ORG.c.value).where(_ORG.c.key == key)).scalar()
        return dict(json.loads(v)) if v else {}

    def set_org_setting(self, key: str, value: dict[str, Any]) -> None:
        now = datetime.now(UTC)
        text = json.dumps(value, sort_keys=True)
        with self._writing() as conn:
            done = conn.execute(
                update(_ORG).where(_ORG.c.key == key).values(value=text, updated_at=now)
            )
            if done.rowcount == 0:
                conn.execute(_ORG.insert().values(key=key, value=text, updated_at=now))

    # exposure
    def record_reveal(self, user_id: int, media_sha256: str, at: datetime) -> None:
        with self._writing() as conn:
            conn.execute(
                _EXPOSURE.insert().values(
                    user_id=user_id, media_sha256=media_sha256, revealed_at=at, concealed_at=None
                )
            )

    def record_conceal(self, user_id: int, media_sha256: str, at: datetime) -> bool:
        """Close the user's open reveals of this media; False when none was open."""
        with self._writing() as conn:
            done = conn.execute(
                update(_EXPOSURE)
                .where(
                    _EXPOSURE.c.user_id == user_id,
                    _EXPOSURE.c.media_sha256 == media_sha256,
                    _EXPOSURE.c.concealed_at.is_(None),
                )
                .values(concealed_at=at)
            )
        return bool(done.rowcount)

    def exposures(self, user_id: int, since: datetime) -> list[ExposureRecord]:
        with self._reading() as conn:
            rows = conn.execute(
                select(_EXPOSURE)
                .where(_EXPOSURE.c.user_id == user_id, _EXPOSURE.c.revealed_at >= since)
                .order_by(_EXPOSURE.c.revealed_at)
            ).all()
        return [ExposureRecord(r.media_sha256, r.revealed_at, r.concealed_at) for r in rows]

    def conceal_all(self, user_id: int, at: datetime) -> int:
        """Close every open reveal of the user (navigation reverts reveals)."""
        with self._writing() as conn:
            done = conn.execute(
                update(_EXPOSURE)
                .where(_EXPOSURE.c.user_id == user_id, _EXPOSURE.c.concealed_at.is_(None))
                .values(concealed_at=at)
            )
        return int(done.rowcount)

    def open_reveal(self, user_id: int, media_sha256: str) -> bool:
        with self._reading() as conn:
            r = conn.execute(
                select(_EXPOSURE.c.id).where(
                    _EXPOSURE.c.user_id == user_id,
                    _EXPOSURE.c.media_sha256 == media_sha256,
                    _EXPOSURE.c.concealed_at.is_(None),
                )
            ).first()
        return r is not None

"""SQL for the platform API's keys (``verisight apikey``).

Only the SHA-256 of a key and its first characters are stored: a key cannot be recovered
from the database, only recognised. Request counts are added in batches by the API process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Row, Table, select
from sqlalchemy.exc import IntegrityError

from verisight.errors import UsageError
from verisight.store.db import read_retrying
from verisight.store.schema import ApiKey

_KEY: Table = ApiKey.__table__  # type: ignore[assignment]


class ApiKeyExists(UsageError):
    """A key with that name exists already (revoked keys keep their name)."""


class ApiKeyNotFound(UsageError):
    """No key with that name."""


@dataclass(frozen=True, slots=True)
class ApiKeyView:
    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None
    requests: int
    last_used_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _view(r: Row[Any]) -> ApiKeyView:
    return ApiKeyView(
        r.id, r.name, r.prefix, tuple(s for s in r.scopes.split(",") if s), r.created_at,
        r.revoked_at, int(r.requests), r.last_used_at,
    )  # fmt: skip


class ApiKeyStore:
    """``reads``, when given, serves :meth:`by_hash` (every request's key check, in the API):
    :func:`~verisight.store.db.make_read_engine`."""

    def __init__(self, engine: Engine, reads: Engine | None = None) -> None:
        self.engine = engine
        self.reads = reads or engine

    def add(self, name: str, prefix: str, key_hash: str, scopes: tuple[str, ...]) -> ApiKeyView:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    _KEY.insert().values(
                        name=name, prefix=prefix, key_hash=key_hash, scopes=",".join(scopes),
                        created_at=datetime.now(UTC), requests=0,
                    )
                )  # fmt: skip
        except IntegrityError as exc:
            raise ApiKeyExists(f"an API key named {name!r} exists already") from exc
        return self.get(name)

    def get(self, name: str) -> ApiKeyView:
        with self.engine.connect() as conn:
            r = conn.execute(select(_KEY).where(_KEY.c.name == name)).first()
        if r is None:
            raise ApiKeyNotFound(f"no API key named {name!r}")
        return _view(r)

    def by_hash(self, key_hash: str) -> ApiKeyView | None:
        q = select(_KEY).where(_KEY.c.key_hash == key_hash)
        r = read_retrying(self.reads, lambda conn: conn.execute(q).first())
        return None if r is None else _view(r)

    def all(self) -> list[ApiKeyView]:
        with self.engine.connect() as conn:
            return [_view(r) for r in conn.execute(select(_KEY).order_by(_KEY.c.name))]

    def revoke(self, name: str) -> ApiKeyView:
        key = self.get(name)
        if key.revoked_at is None:
            with self.engine.begin() as conn:
                conn.execute(
                    _KEY.update().where(_KEY.c.id == key.id).values(revoked_at=datetime.now(UTC))
                )
        return self.get(name)

    def add_requests(self, counts: Mapping[int, int]) -> None:
        """Add ``counts`` (key id → requests) to the keys' totals."""
        if not counts:
            return
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            for key_id, n in counts.items():
                conn.execute(
                    _KEY.update()
                    .where(_KEY.c.id == key_id)
                    .values(requests=_KEY.c.requests + n, last_used_at=now)
                )

"""The audit log: append-only and hash-chained.

Each entry's ``hash`` is ``sha256(prev_hash + "\\n" + canonical JSON of the entry)``, where the
canonical JSON covers ``seq``, ``at``, ``actor``, ``action``, ``media`` and ``detail`` with sorted
keys. The first entry's ``prev_hash`` is 64 zeros. Editing an entry changes its hash; deleting
or reordering entries breaks the ``seq`` sequence or the next entry's ``prev_hash``.
:meth:`AuditLog.verify` finds all of these. Removing the newest entries leaves a shorter,
valid chain: record :attr:`AuditReport.head` elsewhere to detect that too.

Appends are serialised, so the chain never forks: before reading the head, an append takes
the audit lock of its transaction (PostgreSQL: ``pg_advisory_xact_lock``, held until commit or
rollback; SQLite: the write lock that :func:`verisight.store.db.begin` takes at once). A
second analyst's append waits for the first transaction to end and then chains on top of its
entry, or on the old head if it rolled back. The ``seq`` primary key stays the last line of
defence: a standalone append that loses a race anyway retries.

An append joins a unit of work when the log is bound to its connection
(``audit.bind(conn).append(...)``): the entry commits with the decision it records, or
neither does. Take the audit lock last in a unit (append after the other writes) so that
two units never wait on each other's rows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    String,
    Table,
    func,
    or_,
    select,
    text,
    type_coerce,
)
from sqlalchemy.exc import IntegrityError

from verisight.store.db import Bindable, begin
from verisight.store.schema import AuditEntry

_AUDIT: Table = AuditEntry.__table__  # type: ignore[assignment]
GENESIS = "0" * 64
#: The PostgreSQL advisory lock key that serialises appends ("vsaudit1" as a big-endian int).
AUDIT_LOCK = int.from_bytes(b"vsaudit1", "big") & 0x7FFF_FFFF_FFFF_FFFF


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    at: datetime
    actor: str | None
    action: str
    media_sha256: str | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class AuditReport:
    """The result of :meth:`AuditLog.verify`: ``ok`` when no problem was found."""

    entries: int
    head: str
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        """As ``verisight audit verify --json`` prints it."""
        return {"ok": self.ok, "entries": self.entries, "head": self.head,
                "problems": self.problems}  # fmt: skip


def canonical(detail: dict[str, Any]) -> str:
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str | None,
    action: str,
    media: str | None,
    detail_json: str,
) -> str:
    body = {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(),
        "actor": actor,
        "action": action,
        "media": media,
        "detail": json.loads(detail_json),
    }
    return hashlib.sha256(f"{prev_hash}\n{canonical(body)}".encode()).hexdigest()


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to read: exact ``actor``, ``action`` and ``media``; ``since`` (included)
    and ``until`` (excluded); ``text`` found in the actor, action, media or detail (any case)."""

    actor: str | None = None
    action: str | None = None
    media: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        c = _AUDIT.c
        out: list[ColumnElement[bool]] = []
        if self.actor:
            out.append(c.actor == self.actor)
        if self.action:
            out.append(c.action == self.action)
        if self.media:
            out.append(c.media_sha256 == self.media)
        if self.since is not None:
            out.append(c.at >= self.since)
        if self.until is not None:
            out.append(c.at < self.until)
        if self.text:
            pattern = _like(self.text.lower())
            out.append(or_(*(
                func.lower(func.coalesce(col, "")).like(pattern, escape="\\")
                for col in (c.actor, c.action, c.media_sha256, c.detail)
            )))  # fmt: skip
        return out


class AuditLog(Bindable):
    """Append and verify audit entries (who, what, when, which media)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def append(
        self,
        actor: str | None,
        action: str,
        media_sha256: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> AuditRecord:
        """Append an entry: in the bound unit of work's transaction, else in its own."""
        detail_json = canonical(detail or {})
        if self._conn is not None:
            return _append(self._conn, actor, action, media_sha256, detail_json)
        for _attempt in range(50):
            try:
                with begin(self.engine) as conn:
                    return _append(conn, actor, action, media_sha256, detail_json)
            except IntegrityError:
                continue  # another writer took this seq: chain on top of it
        raise RuntimeError("could not append to the audit log (too much contention)")

    def entries(
        self, *, media_sha256: str | None = None, limit: int | None = None
    ) -> Iterator[AuditRecord]:
        """Entries, newest first (all of them, or those about one media)."""
        return self.search(AuditFilter(media=media_sha256), limit=limit)

    def search(
        self, filt: AuditFilter | None = None, *, offset: int = 0, limit: int | None = None
    ) -> Iterator[AuditRecord]:
        """Entries matching ``filt``, newest first, from ``offset``."""
        q = select(_AUDIT).order_by(_AUDIT.c.seq.desc()).offset(offset)
        for cond in (filt or AuditFilter()).conditions():
            q = q.where(cond)
        if limit is not None:
            q = q.limit(limit)
        with self._reading() as conn:
            rows = conn.execute(q).all()
        for r in rows:
            yield AuditRecord(
                r.seq, r.at, r.actor, r.action, r.media_sha256, json.loads(r.detail),
                r.prev_hash, r.hash,
            )  # fmt: skip

    def count(self) -> int:
        with self._reading() as conn:
            return int(conn.execute(select(func.count()).select_from(_AUDIT)).scalar_one())

    def verify(self) -> AuditReport:
        """Recompute the chain in ``seq`` order and report every break."""
        problems: list[str] = []
        prev = GENESIS
        expected_seq = 1
        n = 0
        with self.engine.connect() as conn:
            raw_at = type_coerce(_AUDIT.c.at, String).label("at")  # garbage must not raise
            columns = [c for c in _AUDIT.c if c.name != "at"] + [raw_at]
            rows = conn.execution_options(yield_per=1000).execute(
                select(*columns).order_by(_AUDIT.c.seq)
            )
            for r in rows:
                n += 1
                at = _read_at(r.at)
                if at is None:
                    problems.append(
                        f"entry {r.seq}: timestamp {str(r.at)[:40]!r} is unreadable (edited)"
                    )
                if r.seq != expected_seq:
                    problems.append(
                        f"entry {r.seq}: expected entry {expected_seq} here "
                        "(entries deleted or renumbered)"
                    )
                if r.prev_hash != prev:
                    problems.append(
                        f"entry {r.seq}: does not follow the previous entry "
                        "(an entry before it was deleted, edited or moved)"
                    )
                try:
                    digest = (
                        entry_hash(
                            r.prev_hash, r.seq, at, r.actor, r.action, r.media_sha256, r.detail
                        )
                        if at is not None
                        else ""
                    )
                except (ValueError, TypeError):
                    digest = ""
                if at is not None and digest != r.hash:
                    problems.append(f"entry {r.seq}: content does not match its hash (edited)")
                prev = r.hash
                expected_seq = r.seq + 1
        return AuditReport(n, prev, problems)


def _read_at(value: object) -> datetime | None:
    """An entry's timestamp as stored (a datetime, or SQLite's text), None when unreadable."""
    if isinstance(value, datetime):
        at = value
    elif isinstance(value, str):
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _append(
    conn: Connection, actor: str | None, action: str, media_sha256: str | None, detail_json: str
) -> AuditRecord:
    """Lock the chain for this transaction, read its head and add the next entry."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK})
    last = conn.execute(
        select(_AUDIT.c.seq, _AUDIT.c.hash).order_by(_AUDIT.c.seq.desc()).limit(1)
    ).first()
    seq = 1 if last is None else int(last.seq) + 1
    prev = GENESIS if last is None else str(last.hash)
    at = datetime.now(UTC)
    digest = entry_hash(prev, seq, at, actor, action, media_sha256, detail_json)
    conn.execute(
        _AUDIT.insert().values(
            seq=seq, at=at, actor=actor, action=action, media_sha256=media_sha256,
            detail=detail_json, prev_hash=prev, hash=digest,
        )
    )  # fmt: skip
    return AuditRecord(seq, at, actor, action, media_sha256, json.loads(detail_json), prev, digest)

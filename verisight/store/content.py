"""SQL for the platform API's view of banks: content state, bank settings, the change feed.

A bank *entry* (:mod:`verisight.store.banks`) is what HMA calls *bank content*; its id is the
``bank_content_id``. This module adds what HMA keeps beside it (disabling, a note, user
metadata, a bank's enabled ratio) in side tables, so that banks imported by ``verisight bank
import`` and banks made through the API are the same rows.

Index followers read the feed: entries added are found by id (ids only grow); disabling,
enabling, removing entries and deleting or renaming banks append a ``bank_change`` row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, Table, bindparam, delete, func, not_, or_, select

from verisight.matching.entry import BankEntry
from verisight.store.banks import _entry_row, entry_values
from verisight.store.db import insert_ignoring_conflicts, read_retrying
from verisight.store.schema import Bank, BankChange, BankContentState, BankEntryRow, BankSetting

_BANK: Table = Bank.__table__  # type: ignore[assignment]
_ENTRY: Table = BankEntryRow.__table__  # type: ignore[assignment]
_STATE: Table = BankContentState.__table__  # type: ignore[assignment]
_SETTING: Table = BankSetting.__table__  # type: ignore[assignment]
_CHANGE: Table = BankChange.__table__  # type: ignore[assignment]

ENABLED = 1
DISABLED = 0
_NOT_FRAME = or_(_ENTRY.c.extra.is_(None), not_(_ENTRY.c.extra.like('%"vpdq_frame"%')))

#: Entries with their bank and state, by id (``ids``: a list). Built once: every matched
#: look-up runs it, and building the statement cost as much as running it.
_GET_CONTENT = (
    select(
        _ENTRY, _BANK.c.name.label("bank_name"), _BANK.c.kind.label("bank_kind"),
        _STATE.c.disable_until_ts, _STATE.c.note, _STATE.c.user_metadata,
    )
    .select_from(
        _ENTRY.join(_BANK, _ENTRY.c.bank_id == _BANK.c.id).outerjoin(
            _STATE, _STATE.c.entry_id == _ENTRY.c.id
        )
    )
    .where(_ENTRY.c.id.in_(bindparam("ids", expanding=True)))
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ContentView:
    """One bank entry with the API's state beside it."""

    id: int
    bank_id: int
    bank: str
    bank_kind: str
    row: BankEntry
    disable_until_ts: int = ENABLED
    note: str | None = None
    user_metadata: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Change:
    seq: int
    op: str
    bank_id: int | None
    entry_id: int | None


class ContentStore:
    """``reads``, when given, serves what a look-up reads (:meth:`get`, :meth:`bank_rules`,
    :meth:`exact`): the API's :func:`~verisight.store.db.make_read_engine`. Everything else,
    writes included, goes through ``engine``."""

    def __init__(self, engine: Engine, reads: Engine | None = None) -> None:
        self.engine = engine
        self.reads = reads or engine

    # -- bank settings -------------------------------------------------------------------

    def enabled_ratios(self) -> dict[int, float]:
        with self.engine.connect() as conn:
            return {r.bank_id: float(r.enabled_ratio) for r in conn.execute(select(_SETTING))}

    def bank_rules(self) -> list[tuple[int, str, str, int | None, str | None, float]]:
        """Every bank's (id, name, kind, PDQ threshold, label, enabled ratio), without the
        entry counts (cheap enough for every look-up)."""
        q = select(
            _BANK.c.id, _BANK.c.name, _BANK.c.kind, _BANK.c.pdq_threshold, _BANK.c.label,
            func.coalesce(_SETTING.c.enabled_ratio, 1.0),
        ).select_from(_BANK.outerjoin(_SETTING, _SETTING.c.bank_id == _BANK.c.id))  # fmt: skip
        return read_retrying(
            self.reads,
            lambda conn: [
                (int(r[0]), r[1], r[2], r[3], r[4], float(r[5]))
                for r in conn.execute(q.order_by(_BANK.c.name))
            ],
        )

    def set_enabled_ratio(self, bank_id: int, ratio: float) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(_SETTING).where(_SETTING.c.bank_id == bank_id))
            conn.execute(_SETTING.insert().values(bank_id=bank_id, enabled_ratio=ratio))
            self._change(conn, "bank", bank_id, None)

    def rename_bank(self, bank_id: int, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(_BANK.update().where(_BANK.c.id == bank_id).values(name=name))
            self._change(conn, "bank", bank_id, None)

    def bank_deleted(self, bank_id: int) -> None:
        with self.engine.begin() as conn:
            self._change(conn, "bank-delete", bank_id, None)

    # -- content -------------------------------------------------------------------------

    def add(
        self,
        bank_id: int,
        rows: list[BankEntry],
        *,
        note: str | None,
        user_metadata: dict[str, Any] | None,
    ) -> int:
        """Add one piece of content (one row, or a video's frame rows) in one transaction;
        returns its id (the first row's). Content already in the bank keeps its id."""
        ids: list[int] = []
        with self.engine.begin() as conn:
            for row in rows:
                values = entry_values(bank_id, row)
                key = values["key"]
                insert_ignoring_conflicts(conn, _ENTRY, [values], "key")
                ids.append(
                    conn.execute(select(_ENTRY.c.id).where(_ENTRY.c.key == key)).scalar_one()
                )
            first = ids[0]
            if note is not None or user_metadata is not None:
                conn.execute(delete(_STATE).where(_STATE.c.entry_id == first))
                conn.execute(
                    _STATE.insert().values(
                        entry_id=first, disable_until_ts=ENABLED, note=note,
                        user_metadata=json.dumps(user_metadata, sort_keys=True)
                        if user_metadata else None,
                    )
                )  # fmt: skip
        return first

    def get(self, ids: Iterable[int]) -> dict[int, ContentView]:
        wanted = sorted(set(ids))
        return read_retrying(self.reads, lambda conn: self._get(conn, wanted))

    @staticmethod
    def _get(conn: Connection, wanted: list[int]) -> dict[int, ContentView]:
        out: dict[int, ContentView] = {}
        for i in range(0, len(wanted), 900):
            for r in conn.execute(_GET_CONTENT, {"ids": wanted[i : i + 900]}):
                out[r.id] = ContentView(
                    r.id, r.bank_id, r.bank_name, r.bank_kind, _entry_row(r),
                    ENABLED if r.disable_until_ts is None else int(r.disable_until_ts),
                    r.note, json.loads(r.user_metadata) if r.user_metadata else None,
                )  # fmt: skip
        return out

    def update(self, entry_id: int, *, disable_until_ts: int, note: str | None) -> None:
        with self.engine.begin() as conn:
            old = conn.execute(select(_STATE).where(_STATE.c.entry_id == entry_id)).first()
            conn.execute(delete(_STATE).where(_STATE.c.entry_id == entry_id))
            conn.execute(
                _STATE.insert().values(
                    entry_id=entry_id, disable_until_ts=disable_until_ts, note=note,
                    user_metadata=old.user_metadata if old is not None else None,
                )
            )  # fmt: skip
            bank_id = conn.execute(
                select(_ENTRY.c.bank_id).where(_ENTRY.c.id == entry_id)
            ).scalar_one()
            self._change(conn, "content", bank_id, entry_id)

    def remove(self, bank_id: int, entry_id: int) -> int:
        """Remove an entry (and its video's other frame rows); returns rows removed."""
        with self.engine.begin() as conn:
            r = conn.execute(
                select(_ENTRY).where(_ENTRY.c.id == entry_id, _ENTRY.c.bank_id == bank_id)
            ).first()
            if r is None:
                return 0
            q = delete(_ENTRY).where(_ENTRY.c.id == entry_id)
            if r.extra and '"vpdq_frame"' in r.extra and r.source_id:
                q = delete(_ENTRY).where(
                    _ENTRY.c.bank_id == bank_id, _ENTRY.c.source_id == r.source_id,
                    _ENTRY.c.extra.like('%"vpdq_frame"%'),
                )  # fmt: skip
            conn.execute(delete(_STATE).where(_STATE.c.entry_id == entry_id))
            n = conn.execute(q).rowcount
            self._change(conn, "remove", bank_id, entry_id)
        return int(n)

    # -- the feed for index followers ----------------------------------------------------

    def pdq_after(self, after_id: int) -> tuple[np.ndarray, np.ndarray]:
        """PDQ image entries with id > ``after_id``: (hashes (n, 32) uint8, ids)."""
        q = (
            select(_ENTRY.c.id, _ENTRY.c.pdq)
            .where(_ENTRY.c.pdq.is_not(None), _ENTRY.c.id > after_id, _NOT_FRAME)
            .order_by(_ENTRY.c.id)
        )
        ids: list[int] = []
        hashes: list[bytes] = []
        with self.engine.connect() as conn:
            for eid, pdq in conn.execute(q):
                ids.append(eid)
                hashes.append(bytes.fromhex(pdq))
        arr = np.frombuffer(b"".join(hashes), dtype=np.uint8).reshape(-1, 32)
        return arr, np.asarray(ids, dtype=np.int64)

    def pdq_count(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(_ENTRY)
                    .where(_ENTRY.c.pdq.is_not(None), _NOT_FRAME)
                ).scalar_one()
            )

    def exact(self, column: str, values: list[str]) -> dict[str, list[int]]:
        """Entry ids whose ``column`` (md5, sha1 or sha256) equals each value."""
        if column not in ("md5", "sha1", "sha256"):
            raise ValueError(column)
        col = _ENTRY.c[column]
        wanted = sorted(set(values))

        def read(conn: Connection) -> dict[str, list[int]]:
            out: dict[str, list[int]] = {}
            for i in range(0, len(wanted), 900):
                q = select(col, _ENTRY.c.id).where(col.in_(wanted[i : i + 900]))
                for v, eid in conn.execute(q.order_by(_ENTRY.c.id)):
                    out.setdefault(v, []).append(int(eid))
            return out

        return read_retrying(self.reads, read)

    def disabled(self) -> dict[int, int]:
        """Entries whose ``disable_until_ts`` is not "enabled": entry id → the value."""
        with self.engine.connect() as conn:
            q = select(_STATE.c.entry_id, _STATE.c.disable_until_ts).where(
                _STATE.c.disable_until_ts != ENABLED
            )
            return {int(a): int(b) for a, b in conn.execute(q)}

    def last_change(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.max(_CHANGE.c.seq), 0))).scalar_one())

    def removals_after(self, seq: int) -> tuple[int, bool]:
        """(newest change seq, whether a change after ``seq`` removed entries or a bank)."""
        with self.engine.connect() as conn:
            newest = conn.execute(select(func.coalesce(func.max(_CHANGE.c.seq), 0))).scalar_one()
            removed = conn.execute(
                select(_CHANGE.c.seq)
                .where(_CHANGE.c.seq > seq, _CHANGE.c.op.in_(("remove", "bank-delete")))
                .limit(1)
            ).first()
        return int(newest), removed is not None

    def changes_after(self, seq: int) -> list[Change]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(_CHANGE).where(_CHANGE.c.seq > seq).order_by(_CHANGE.c.seq)
            ).all()
        return [Change(r.seq, r.op, r.bank_id, r.entry_id) for r in rows]

    @staticmethod
    def _change(conn: Any, op: str, bank_id: int | None, entry_id: int | None) -> None:
        conn.execute(
            _CHANGE.insert().values(op=op, bank_id=bank_id, entry_id=entry_id, at=datetime.now(UTC))
        )

"""SQL for hash banks, their entries and the matches they produce.

:class:`BankStore` is a narrow role interface over an :class:`~sqlalchemy.Engine`; it takes and
returns dataclasses (entries as the domain :class:`~verisight.matching.entry.BankEntry`). Exact
matching is done by the database (indexed joins on MD5, SHA-1, SHA-256); PDQ candidates are
read out in bulk for the in-memory index.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine, Row, Table, delete, func, select

from verisight.analysis.record import VideoFrame
from verisight.errors import UsageError
from verisight.matching.entry import BankEntry
from verisight.matching.errors import Location
from verisight.matching.signals import HashType
from verisight.store.db import Bindable, insert_ignoring_conflicts
from verisight.store.schema import Bank, BankContentState, BankEntryRow, BankImport, Match, Media
from verisight.store.video import iter_video_frames

_BANK: Table = Bank.__table__  # type: ignore[assignment]
_ENTRY: Table = BankEntryRow.__table__  # type: ignore[assignment]
_IMPORT: Table = BankImport.__table__  # type: ignore[assignment]
_MATCH: Table = Match.__table__  # type: ignore[assignment]
_MEDIA: Table = Media.__table__  # type: ignore[assignment]
_STATE: Table = BankContentState.__table__  # type: ignore[assignment]

EXACT_TYPES = (HashType.MD5, HashType.SHA1, HashType.SHA256)
_CHUNK = 5000


class BankNotFound(UsageError):
    """No bank with that name exists in the case."""


@dataclass(frozen=True, slots=True)
class BankView:
    id: int
    name: str
    label: str | None
    kind: str
    pdq_threshold: int | None
    created_at: datetime
    entries: int = 0
    matches: int = 0


def entry_values(bank_id: int, e: BankEntry) -> dict[str, Any]:
    """The ``bank_entry`` row of ``e`` in bank ``bank_id`` (without its import)."""
    return {
        "bank_id": bank_id, "key": content_key(bank_id, e), "md5": e.md5,
        "sha1": e.sha1, "sha256": e.sha256, "pdq": e.pdq,
        "pdq_quality": e.pdq_quality, "label": e.label, "category": e.category,
        "source_id": e.source_id, "series": e.series,
        "victim_identified": e.victim_identified, "comments": e.comments,
        "extra": _extra(e),
        "location": str(e.location) if e.location else None,
    }  # fmt: skip


def content_key(bank_id: int, e: BankEntry) -> str:
    """What makes an entry the same entry of a bank (so re-importing a file adds nothing)."""
    canon = json.dumps(
        [bank_id, e.md5, e.sha1, e.sha256, e.pdq, e.label, e.category, e.source_id, e.series],
        separators=(",", ":"),
    )
    return hashlib.sha256(canon.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class EntryView:
    id: int
    bank: str
    bank_kind: str
    #: The entry as read from its file; ``location`` is the stored text of where it was.
    row: BankEntry

    def to_json(self) -> dict[str, Any]:
        """The entry as ``verisight lookup --json`` prints it."""
        r = self.row
        return {
            "bank": self.bank, "bank_kind": self.bank_kind, "entry": self.id, "label": r.label,
            "category": r.category, "source_id": r.source_id, "series": r.series,
            "victim_identified": r.victim_identified, "comments": r.comments,
            "md5": r.md5, "sha1": r.sha1, "sha256": r.sha256, "pdq": r.pdq,
            "location": str(r.location) if r.location else None,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class NewMatch:
    media_sha256: str
    bank_id: int
    entry_id: int
    hash_type: str
    distance: int
    variant: str | None = None

    @property
    def key(self) -> str:
        raw = f"{self.media_sha256}\0{self.entry_id}\0{self.hash_type}\0{self.variant or ''}"
        return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class MatchView:
    media_sha256: str
    bank: str
    bank_kind: str
    entry: EntryView
    hash_type: str
    distance: int
    variant: str | None

    def to_json(self) -> dict[str, Any]:
        """The match as ``verisight match --json`` prints it."""
        return {
            "sha256": self.media_sha256, "bank": self.bank, "entry": self.entry.id,
            "hash_type": self.hash_type, "distance": self.distance,
            "label": self.entry.row.label, "category": self.entry.row.category,
            "variant": self.variant, "bank_kind": self.bank_kind,
        }  # fmt: skip


def _entry_row(r: Row[Any]) -> BankEntry:
    extra = json.loads(r.extra) if r.extra else {}
    return BankEntry(
        md5=r.md5, sha1=r.sha1, sha256=r.sha256, pdq=r.pdq, pdq_quality=r.pdq_quality,
        label=r.label, category=r.category, source_id=r.source_id, series=r.series,
        victim_identified=r.victim_identified, comments=r.comments,
        frame=extra.get("vpdq_frame"), timestamp=extra.get("vpdq_t"),
        location=Location.stored(r.location) if r.location else None,
    )  # fmt: skip


def _extra(e: BankEntry) -> str | None:
    """The ``extra`` column: a vPDQ frame's number and timestamp."""
    if e.frame is None:
        return None
    return json.dumps({"vpdq_frame": e.frame, "vpdq_t": e.timestamp}, sort_keys=True)


def _bank_view(r: Row[Any], entries: int = 0, matches: int = 0) -> BankView:
    return BankView(r.id, r.name, r.label, r.kind, r.pdq_threshold, r.created_at, entries, matches)


class BankStore(Bindable):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- banks ---------------------------------------------------------------------------

    def get(self, name: str) -> BankView:
        with self._reading() as conn:
            r = conn.execute(select(_BANK).where(_BANK.c.name == name)).first()
            if r is None:
                raise BankNotFound(f"no bank named {name!r} in this case")
            entries = conn.execute(
                select(func.count()).select_from(_ENTRY).where(_ENTRY.c.bank_id == r.id)
            ).scalar_one()
            matches = conn.execute(
                select(func.count()).select_from(_MATCH).where(_MATCH.c.bank_id == r.id)
            ).scalar_one()
        return _bank_view(r, int(entries), int(matches))

    def all(self) -> list[BankView]:
        with self._reading() as conn:
            entries: dict[int, int] = {
                bid: n
                for bid, n in conn.execute(
                    select(_ENTRY.c.bank_id, func.count()).group_by(_ENTRY.c.bank_id)
                )
            }
            matches: dict[int, int] = {
                bid: n
                for bid, n in conn.execute(
                    select(_MATCH.c.bank_id, func.count()).group_by(_MATCH.c.bank_id)
                )
            }
            rows = conn.execute(select(_BANK).order_by(_BANK.c.name)).all()
        return [_bank_view(r, entries.get(r.id, 0), matches.get(r.id, 0)) for r in rows]

    def ensure(
        self, name: str, *, label: str | None, kind: str, pdq_threshold: int | None
    ) -> BankView:
        """The bank called ``name``, created with these settings if it does not exist; the
        settings given replace the stored ones when they differ."""
        with self._writing() as conn:
            r = conn.execute(select(_BANK).where(_BANK.c.name == name)).first()
            if r is None:
                conn.execute(
                    _BANK.insert().values(
                        name=name, label=label, kind=kind, pdq_threshold=pdq_threshold,
                        created_at=datetime.now(UTC),
                    )
                )  # fmt: skip
            else:
                values: dict[str, Any] = {"kind": kind}
                if label is not None:
                    values["label"] = label
                if pdq_threshold is not None:
                    values["pdq_threshold"] = pdq_threshold
                conn.execute(_BANK.update().where(_BANK.c.id == r.id).values(**values))
        return self.get(name)

    def delete(self, name: str) -> None:
        bank = self.get(name)
        with self._writing() as conn:
            conn.execute(delete(_MATCH).where(_MATCH.c.bank_id == bank.id))
            conn.execute(delete(_ENTRY).where(_ENTRY.c.bank_id == bank.id))
            conn.execute(delete(_IMPORT).where(_IMPORT.c.bank_id == bank.id))
            conn.execute(delete(_BANK).where(_BANK.c.id == bank.id))

    # -- imports -------------------------------------------------------------------------

    def already_imported(self, bank_id: int, source_sha256: str) -> bool:
        with self._reading() as conn:
            found = conn.execute(
                select(_IMPORT.c.id).where(
                    _IMPORT.c.bank_id == bank_id, _IMPORT.c.source_sha256 == source_sha256
                )
            ).first()
        return found is not None

    def import_entries(
        self,
        bank_id: int,
        *,
        source: str,
        source_sha256: str,
        format: str,
        entries: Iterable[BankEntry],
        skipped: Iterable[object] = (),
    ) -> tuple[int, int]:
        """Insert ``entries`` in ONE transaction (an exception while iterating them rolls the
        whole import back). Returns (entries read, entries new to the bank)."""
        read = 0
        with self._writing() as conn:
            before = conn.execute(
                select(func.count()).select_from(_ENTRY).where(_ENTRY.c.bank_id == bank_id)
            ).scalar_one()
            import_id = conn.execute(
                _IMPORT.insert()
                .values(
                    bank_id=bank_id, source=source, source_sha256=source_sha256, format=format,
                    imported_at=datetime.now(UTC), entries=0, skipped=0,
                )
                .returning(_IMPORT.c.id)
            ).scalar_one()  # fmt: skip
            batch: list[dict[str, Any]] = []
            for e in entries:
                read += 1
                batch.append(entry_values(bank_id, e) | {"import_id": import_id})
                if len(batch) >= _CHUNK:
                    insert_ignoring_conflicts(conn, _ENTRY, batch, "key")
                    batch = []
            insert_ignoring_conflicts(conn, _ENTRY, batch, "key")
            after = conn.execute(
                select(func.count()).select_from(_ENTRY).where(_ENTRY.c.bank_id == bank_id)
            ).scalar_one()
            conn.execute(
                _IMPORT.update()
                .where(_IMPORT.c.id == import_id)
                .values(entries=read, skipped=sum(1 for _ in skipped))
            )
        return read, int(after) - int(before)

    def video_frames(self, media: list[str] | None) -> dict[str, list[VideoFrame]]:
        """The sampled vPDQ frames of the case's videos (all, or those of ``media``)."""
        videos: dict[str, list[VideoFrame]] = {}
        with self._reading() as conn:
            for sha, f in iter_video_frames(conn, media):
                videos.setdefault(sha, []).append(f)
        return videos

    def disabled_entries(self, now: float) -> set[int]:
        """Entries disabled (``disable_until_ts`` 0, or a time after ``now``), which match
        nothing until enabled again (the platform API's rule)."""
        ts = _STATE.c.disable_until_ts
        with self._reading() as conn:
            q = select(_STATE.c.entry_id).where((ts == 0) | (ts > now))
            return {int(i) for (i,) in conn.execute(q)}

    def entry_page(self, bank_id: int, limit: int) -> list[tuple[int, BankEntry]]:
        """The first ``limit`` entries of a bank with their ids (for an admin page)."""
        with self._reading() as conn:
            rows = conn.execute(
                select(_ENTRY).where(_ENTRY.c.bank_id == bank_id).order_by(_ENTRY.c.id).limit(limit)
            ).all()
        return [(r.id, _entry_row(r)) for r in rows]

    def iter_entries(self, bank_id: int) -> Iterator[BankEntry]:
        after = 0
        while True:
            with self._reading() as conn:
                rows = conn.execute(
                    select(_ENTRY)
                    .where(_ENTRY.c.bank_id == bank_id, _ENTRY.c.id > after)
                    .order_by(_ENTRY.c.id)
                    .limit(_CHUNK)
                ).all()
            if not rows:
                return
            yield from (_entry_row(r) for r in rows)
            after = rows[-1].id

    # -- matching ------------------------------------------------------------------------

    def exact_matches(
        self, hash_type: str, media: list[str] | None, bank_ids: list[int]
    ) -> list[NewMatch]:
        """Media whose ``hash_type`` equals a bank entry's, by an indexed join.

        ``media`` limits the media considered (SHA-256 list); None means all."""
        if hash_type not in EXACT_TYPES:
            raise ValueError(hash_type)
        out: list[NewMatch] = []
        mcol, ecol = _MEDIA.c[hash_type], _ENTRY.c[hash_type]
        chunks: list[list[str] | None] = (
            [None] if media is None else [media[i : i + 900] for i in range(0, len(media), 900)]
        )
        with self._reading() as conn:
            for chunk in chunks:
                q = (
                    select(_MEDIA.c.sha256, _ENTRY.c.id, _ENTRY.c.bank_id)
                    .select_from(_MEDIA.join(_ENTRY, mcol == ecol))
                    .where(_ENTRY.c.bank_id.in_(bank_ids))
                )
                if chunk is not None:
                    q = q.where(_MEDIA.c.sha256.in_(chunk))
                out.extend(NewMatch(r[0], r[2], r[1], hash_type, 0) for r in conn.execute(q))
        return out

    def vpdq_frames(self, bank_ids: list[int]) -> list[tuple[int, int, str, VideoFrame]]:
        """vPDQ frame entries of these banks: (entry id, bank id, video id, frame)."""
        out: list[tuple[int, int, str, VideoFrame]] = []
        q = select(_ENTRY).where(
            _ENTRY.c.bank_id.in_(bank_ids),
            _ENTRY.c.extra.like('%"vpdq_frame"%'),
            _ENTRY.c.pdq.is_not(None),
        )
        with self._reading() as conn:
            for r in conn.execute(q.order_by(_ENTRY.c.id)):
                extra = json.loads(r.extra)
                frame = VideoFrame(
                    int(extra["vpdq_frame"]), float(extra.get("vpdq_t") or 0.0), r.pdq,
                    int(r.pdq_quality or 0),
                )  # fmt: skip
                out.append((r.id, r.bank_id, r.source_id or "", frame))
        return out

    def pdq_entries(self, bank_ids: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All PDQ entries of these banks: (hashes (n, 32) uint8, entry ids, bank ids)."""
        hashes: list[bytes] = []
        ids: list[int] = []
        banks: list[int] = []
        with self._reading() as conn:
            q = (
                select(_ENTRY.c.id, _ENTRY.c.bank_id, _ENTRY.c.pdq)
                .where(_ENTRY.c.pdq.is_not(None), _ENTRY.c.bank_id.in_(bank_ids))
                .order_by(_ENTRY.c.id)
            )
            for eid, bid, pdq in conn.execute(q):
                ids.append(eid)
                banks.append(bid)
                hashes.append(bytes.fromhex(pdq))
        arr = np.frombuffer(b"".join(hashes), dtype=np.uint8).reshape(-1, 32)
        return arr, np.asarray(ids, dtype=np.int64), np.asarray(banks, dtype=np.int64)

    def entry(self, entry_id: int) -> EntryView:
        with self._reading() as conn:
            r = conn.execute(
                select(_ENTRY, _BANK.c.name.label("bank_name"), _BANK.c.kind.label("bank_kind"))
                .select_from(_ENTRY.join(_BANK))
                .where(_ENTRY.c.id == entry_id)
            ).one()
        return EntryView(r.id, r.bank_name, r.bank_kind, _entry_row(r))

    def lookup(self, hash_type: str, value: str) -> list[EntryView]:
        """Every entry, in any bank, whose ``hash_type`` equals ``value``."""
        with self._reading() as conn:
            rows = conn.execute(
                select(_ENTRY, _BANK.c.name.label("bank_name"), _BANK.c.kind.label("bank_kind"))
                .select_from(_ENTRY.join(_BANK))
                .where(_ENTRY.c[hash_type] == value.lower())
                .order_by(_BANK.c.name, _ENTRY.c.id)
            ).all()
        return [EntryView(r.id, r.bank_name, r.bank_kind, _entry_row(r)) for r in rows]

    def write_matches(self, matches: Iterable[NewMatch]) -> int:
        now = datetime.now(UTC)
        rows = [
            {
                "key": m.key, "media_sha256": m.media_sha256, "bank_id": m.bank_id,
                "entry_id": m.entry_id, "hash_type": m.hash_type, "distance": m.distance,
                "variant": m.variant, "matched_at": now,
            }
            for m in matches
        ]  # fmt: skip
        with self._writing() as conn:
            before = conn.execute(select(func.count()).select_from(_MATCH)).scalar_one()
            for i in range(0, len(rows), _CHUNK):
                insert_ignoring_conflicts(conn, _MATCH, rows[i : i + _CHUNK], "key")
            after = conn.execute(select(func.count()).select_from(_MATCH)).scalar_one()
        return int(after) - int(before)

    def iter_matches(
        self, bank_id: int | None = None, media_sha256: str | None = None
    ) -> Iterator[MatchView]:
        q = (
            select(
                _MATCH.c.media_sha256, _MATCH.c.hash_type, _MATCH.c.distance, _MATCH.c.variant,
                _ENTRY, _BANK.c.name.label("bank_name"), _BANK.c.kind.label("bank_kind"),
            )
            .select_from(_MATCH.join(_ENTRY, _MATCH.c.entry_id == _ENTRY.c.id).join(
                _BANK, _MATCH.c.bank_id == _BANK.c.id))
            .order_by(_MATCH.c.media_sha256, _BANK.c.name, _MATCH.c.distance, _ENTRY.c.id)
        )  # fmt: skip
        if bank_id is not None:
            q = q.where(_MATCH.c.bank_id == bank_id)
        if media_sha256 is not None:
            q = q.where(_MATCH.c.media_sha256 == media_sha256)
        with self._reading() as conn:
            for r in conn.execute(q):
                entry = EntryView(r.id, r.bank_name, r.bank_kind, _entry_row(r))
                yield MatchView(
                    r.media_sha256, r.bank_name, r.bank_kind, entry, r.hash_type, r.distance,
                    r.variant,
                )  # fmt: skip

    def media_pdq(
        self, media: list[str] | None
    ) -> list[tuple[str, str, int | None, str | None, str | None]]:
        """(sha256, pdq, quality, variants, trimmed) of media that have a PDQ hash."""
        q = select(
            _MEDIA.c.sha256,
            _MEDIA.c.pdq,
            _MEDIA.c.pdq_quality,
            _MEDIA.c.pdq_variants,
            _MEDIA.c.pdq_trimmed,
        ).where(_MEDIA.c.pdq.is_not(None))
        out: list[tuple[str, str, int | None, str | None, str | None]] = []
        with self._reading() as conn:
            if media is None:
                out.extend(tuple(r) for r in conn.execute(q))
            else:
                for i in range(0, len(media), 900):
                    out.extend(
                        tuple(r)
                        for r in conn.execute(q.where(_MEDIA.c.sha256.in_(media[i : i + 900])))
                    )
        return out

"""Hash banks as a service: import a list, match a case against its banks, look a hash up.

The CLI and the web app call these functions; they hold the rules, the store
(:mod:`verisight.store.banks`) holds the SQL, :mod:`verisight.matching` the formats and the index.

Rules:

* An import is atomic: the bank, its entries and the matches they make with the case's media
  are written in one transaction, and an invalid row (unless ``skip_invalid``) or any other
  failure leaves none of them; a file already imported into a bank (same SHA-256) changes
  nothing; an entry already in the bank is not added twice.
* Exact matches on MD5, SHA-1 and SHA-256 (an indexed join in the database). PDQ matches at
  Hamming distance ≤ the bank's threshold (default 31), only for media hashes of quality
  ≥ ``min_quality`` (default 50); weaker hashes are counted, never silently dropped.
* ``negative`` banks list known false positives: a media they match has its matches from
  every other bank suppressed (counted in the summary); the negative match itself is kept.
* The PDQ of the content inside a uniform frame (a screenshot border, letterbox; the scan's
  ``pdq_trimmed``) is searched too, recorded with the variant ``trimmed``.
* With ``rotations``, the 7 other rotations/flips of each media's PDQ (computed from the DCT
  at scan time, as PDQ defines them) are searched too, and the variant is recorded.
* The PDQ index over every bank's entries is cached in the case (``index/pdq-banks``) and
  updated incrementally when entries are added; it is rebuilt when a bank is deleted.
"""

from __future__ import annotations

import copy
import hashlib
import shutil
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from sqlalchemy import Connection

from verisight.analysis.record import VideoFrame
from verisight.errors import UsageError, VerisightError
from verisight.matching.entry import BankEntry
from verisight.matching.errors import IndexFileError, SkippedRow
from verisight.matching.formats import read_bank, write_bank
from verisight.matching.signals import PDQ_THRESHOLD, HashType, validate_signal_str
from verisight.store.banks import (
    EXACT_TYPES,
    BankStore,
    BankView,
    EntryView,
    MatchView,
    NewMatch,
)
from verisight.store.db import begin

if TYPE_CHECKING:  # the index's compiled kernels and video matching load on first use
    from verisight.matching.pdq_index import PDQIndex

#: Meta's dihedral order, as ``pdqhash.compute_dihedral`` returns the hashes.
VARIANTS = (
    "original", "rotate90", "rotate180", "rotate270", "flipx", "flipy", "flipplus1", "flipminus1",
)  # fmt: skip
MIN_QUALITY = 50
#: Media matched at a time by :meth:`Banking.match` (their rows and hashes in memory).
MATCH_CHUNK = 100_000
BANK_KINDS = ("match", "negative")


@dataclass
class MatchSummary:
    media_considered: int = 0
    new_matches: int = 0
    matches_found: int = 0
    media_matched: int = 0
    suppressed: int = 0
    low_quality: int = 0
    by_bank: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {
            "media_considered": self.media_considered,
            "matches_found": self.matches_found,
            "new_matches": self.new_matches,
            "media_matched": self.media_matched,
            "suppressed_by_negative_banks": self.suppressed,
            "low_quality_pdq_not_matched": self.low_quality,
            "by_bank": dict(sorted(self.by_bank.items())),
        }


@dataclass
class ImportResult:
    bank: BankView
    format: str
    read: int
    added: int
    skipped: list[SkippedRow]
    already_imported: bool
    matching: MatchSummary | None

    def to_json(self) -> dict[str, Any]:
        return {
            "bank": self.bank.name,
            "format": self.format,
            "entries_read": self.read,
            "entries_added": self.added,
            "already_imported": self.already_imported,
            "skipped": [
                {"location": str(s.location), "code": s.code, "reason": s.reason}
                for s in self.skipped
            ],
            "matching": self.matching.to_json() if self.matching else None,
        }


class LookupHit(NamedTuple):
    """One bank entry a looked-up hash matched (see :meth:`Banking.lookup`)."""

    hash_type: str
    #: The hash looked up (for a vPDQ match: ``"<query %>/<compared %>"``).
    query: str
    entry: EntryView
    distance: int

    def to_json(self) -> dict[str, Any]:
        """The hit as ``verisight lookup --json`` prints it."""
        return {
            "hash_type": self.hash_type,
            "query": self.query,
            "distance": self.distance,
            **self.entry.to_json(),
        }


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Banking:
    """Bank operations on one case (reached as ``case.banking``); the store stays inside."""

    def __init__(self, store: BankStore, case_dir: Path) -> None:
        self._store = store
        self.index_dir = case_dir / "index" / "pdq-banks"

    def _bound(self, conn: Connection) -> Banking:
        """The same operations inside one unit of work (every statement on ``conn``)."""
        unit = copy.copy(self)
        unit._store = self._store.bind(conn)
        return unit

    # -- banks ---------------------------------------------------------------------------

    def banks(self) -> list[BankView]:
        """Every bank with its entry and match counts, by name."""
        return self._store.all()

    def bank(self, name: str) -> BankView:
        """One bank; raises :class:`verisight.store.banks.BankNotFound` (a usage error)."""
        return self._store.get(name)

    def entries(self, name: str) -> Iterator[BankEntry]:
        """A bank's entries in the order they were added."""
        return self._store.iter_entries(self._store.get(name).id)

    def matches(self, *, bank: str | None = None, media: str | None = None) -> Iterator[MatchView]:
        """Recorded matches (all, one bank's, or one media's), by media then bank."""
        bank_id = self._store.get(bank).id if bank is not None else None
        return self._store.iter_matches(bank_id, media)

    def import_file(
        self,
        path: Path,
        name: str,
        *,
        format: str = "auto",
        label: str | None = None,
        kind: str = "match",
        pdq_threshold: int | None = None,
        skip_invalid: bool = False,
        rematch: bool = True,
    ) -> ImportResult:
        if kind not in BANK_KINDS:
            raise UsageError(f"bank kind must be one of {', '.join(BANK_KINDS)}")
        if pdq_threshold is not None and not 0 <= pdq_threshold <= 256:
            raise UsageError("the PDQ threshold must be between 0 and 256")
        if not path.is_file():
            raise UsageError(f"no such file: {path}")
        digest = _file_sha256(path)
        try:
            with begin(self._store.engine) as conn:  # the bank, its entries, their matches
                unit = self._bound(conn)
                store = unit._store
                bank = store.ensure(name, label=label, kind=kind, pdq_threshold=pdq_threshold)
                if store.already_imported(bank.id, digest):
                    return ImportResult(bank, format, 0, 0, [], True, None)
                reader = read_bank(path, format, skip_invalid=skip_invalid)
                read, added = store.import_entries(
                    bank.id, source=str(path), source_sha256=digest, format=format,
                    entries=reader, skipped=reader.skipped,
                )  # fmt: skip
                summary = unit.match(banks=[name]) if rematch else None
                result = ImportResult(
                    store.get(name), reader.format or format, read, added, reader.skipped,
                    False, summary,
                )  # fmt: skip
        except BaseException:
            # the cached PDQ index may hold entries that were rolled back
            shutil.rmtree(self.index_dir, ignore_errors=True)
            raise
        return result

    def configure(self, name: str, *, kind: str, pdq_threshold: int | None) -> BankView:
        """Set an existing bank's kind and PDQ threshold (as ``bank import --kind
        --threshold`` does); the matches already recorded stay until the next match."""
        if kind not in BANK_KINDS:
            raise UsageError(f"bank kind must be one of {', '.join(BANK_KINDS)}")
        if pdq_threshold is not None and not 0 <= pdq_threshold <= 256:
            raise UsageError("the PDQ threshold must be between 0 and 256")
        bank = self._store.get(name)
        return self._store.ensure(bank.name, label=None, kind=kind, pdq_threshold=pdq_threshold)

    def entry_page(self, name: str, limit: int = 200) -> list[tuple[int, BankEntry]]:
        """A bank's first ``limit`` entries with their ids (the admin page's list)."""
        return self._store.entry_page(self._store.get(name).id, limit)

    def export(self, name: str, out: Any, format: str, *, vics_model: str = "Default") -> int:
        bank = self._store.get(name)
        entries = self._store.iter_entries(bank.id)
        return write_bank(entries, out, format, vics_model=vics_model).written

    def delete(self, name: str) -> None:
        self._store.delete(name)
        shutil.rmtree(self.index_dir, ignore_errors=True)

    # -- the PDQ index ---------------------------------------------------------------------

    def _index(self) -> tuple[PDQIndex, dict[int, int]]:
        """The PDQ index of every bank's entries, and entry id → bank id."""
        from verisight.matching.pdq_index import PDQIndex

        banks = [b.id for b in self._store.all()]
        hashes, ids, bank_ids = self._store.pdq_entries(banks)
        tag = f"{len(ids)}:{int(ids.max()) if len(ids) else 0}"
        entry_bank = dict(zip(ids.tolist(), bank_ids.tolist(), strict=True))
        index: PDQIndex | None = None
        if self.index_dir.is_dir():
            try:
                index = PDQIndex.load(self.index_dir)
            except (IndexFileError, OSError):
                index = None
        if index is not None and index.tag != tag:
            cached_n, _, cached_max = index.tag.partition(":")
            old = ids <= int(cached_max or 0)
            if cached_n.isdigit() and int(cached_n) == int(old.sum()) == len(index):
                index.add(hashes[~old], ids[~old])  # entries were only added: extend
            else:
                index = None
        if index is None:
            index = PDQIndex.build(hashes, ids)
        if index.tag != tag:
            shutil.rmtree(self.index_dir, ignore_errors=True)
            self.index_dir.parent.mkdir(parents=True, exist_ok=True)
            index.save(self.index_dir, tag=tag)
        return index, entry_bank

    # -- matching ------------------------------------------------------------------------

    def match(
        self,
        *,
        banks: Sequence[str] | None = None,
        media: Iterable[str] | None = None,
        pdq_threshold: int | None = None,
        min_quality: int = MIN_QUALITY,
        rotations: bool = False,
        chunk: int = MATCH_CHUNK,
    ) -> MatchSummary:
        """Match media (all, or ``media``) against banks (all, or ``banks``); record matches.

        ``media`` is taken ``chunk`` at a time (one index load for all of them), so that
        matching the media of a scan of millions holds one chunk's rows in memory."""
        all_banks = self._store.all()
        chosen = [self._store.get(n) for n in banks] if banks is not None else all_banks
        summary = MatchSummary()
        if not chosen:
            return summary
        pass_ = _MatchPass(self, all_banks, chosen, pdq_threshold, min_quality, rotations)
        if media is None:
            pass_.run(None, summary)
            return summary
        part: list[str] = []
        for sha in media:
            part.append(sha)
            if len(part) >= chunk:
                pass_.run(part, summary)
                part = []
        if part:
            pass_.run(part, summary)
        return summary

    def _video_matches(
        self, media: list[str] | None, bank_ids: list[int], min_quality: int, limit: int | None
    ) -> list[NewMatch]:
        """Videos' matches: vPDQ scoring against vPDQ banks, and frames against image banks.

        A vPDQ match is recorded against the bank video's first frame entry with hash type
        ``vpdq`` and distance ``round(100 - query match percent)``; a frame that matches an
        image entry is a ``pdq`` match whose variant names the frame (``t=12``).
        """
        from verisight.matching.vpdq import match_videos  # loaded when videos are matched

        videos = self._store.video_frames(media)
        if not videos:
            return []
        bank_frames = self._store.vpdq_frames(bank_ids)
        known, first = _bank_videos(bank_frames)
        out = [
            NewMatch(sha, key[0], first[key], "vpdq", round(100 - s.query_percent))
            for sha, key, s in match_videos(videos, known)
        ]
        frame_entries = {entry_id for entry_id, _, _, _ in bank_frames}
        owners = [(sha, f) for sha, fs in videos.items() for f in fs if f.quality >= min_quality]
        if not owners:
            return out
        index, entry_bank = self._index()
        by_id = {b.id: b for b in self._store.all()}
        q = np.frombuffer(b"".join(bytes.fromhex(f.pdq) for _, f in owners), np.uint8)
        best: dict[tuple[str, int], NewMatch] = {}
        for qi, entry_id, dist in index.search(q.reshape(-1, 32), radius=PDQ_THRESHOLD):
            bank = by_id[entry_bank[entry_id]]
            if entry_id in frame_entries or bank.id not in bank_ids:
                continue
            if dist > (limit or bank.pdq_threshold or PDQ_THRESHOLD):
                continue
            sha, f = owners[qi]
            old = best.get((sha, entry_id))
            if old is None or dist < old.distance:
                best[(sha, entry_id)] = NewMatch(
                    sha, bank.id, entry_id, HashType.PDQ, dist, f"t={f.t:g}"
                )
        return out + list(best.values())

    def lookup_video(
        self, frames: Sequence[VideoFrame], *, pdq_threshold: int = PDQ_THRESHOLD
    ) -> Iterator[LookupHit]:
        """Look a video's vPDQ frames up: vPDQ bank videos it matches (hash type ``vpdq``,
        query ``"<query %>/<compared %>"``, distance ``round(100 - query %)``), then each
        frame within ``pdq_threshold`` of an image entry (hash type ``pdq``)."""
        from verisight.matching.vpdq import match_videos

        bank_ids = [b.id for b in self._store.all()]
        bank_frames = self._store.vpdq_frames(bank_ids)
        known, first = _bank_videos(bank_frames)
        for _, key, s in match_videos({"query": list(frames)}, known):
            label = f"{s.query_percent:.0f}%/{s.compared_percent:.0f}%"
            yield LookupHit(
                "vpdq", label, self._store.entry(first[key]), round(100 - s.query_percent)
            )
        skip = {entry_id for entry_id, _, _, _ in bank_frames}
        usable = [f for f in frames if f.quality >= MIN_QUALITY]
        if not usable:
            return
        index, _ = self._index()
        q = np.frombuffer(b"".join(bytes.fromhex(f.pdq) for f in usable), np.uint8)
        best: dict[int, tuple[int, str]] = {}
        for qi, entry_id, dist in index.search(q.reshape(-1, 32), radius=pdq_threshold):
            if entry_id not in skip and (entry_id not in best or dist < best[entry_id][0]):
                best[entry_id] = (dist, f"{usable[qi].pdq}@t={usable[qi].t:g}")
        for entry_id, (dist, query) in sorted(best.items(), key=lambda kv: kv[1][0]):
            yield LookupHit(HashType.PDQ, query, self._store.entry(entry_id), dist)

    def lookup(
        self,
        hashes: dict[HashType, list[str]],
        *,
        pdq_threshold: int = PDQ_THRESHOLD,
        frames: Sequence[VideoFrame] = (),
    ) -> Iterator[LookupHit]:
        """Ad-hoc look-up without scanning: yields (hash type, query, entry, distance).

        ``hashes[HashType.PDQ]`` may hold several hashes (e.g. the 8 dihedral variants);
        a video's ``frames`` are looked up after them (:meth:`lookup_video`); see
        :func:`lookup_hashes` for a file's."""
        yield from self._lookup(hashes, pdq_threshold)
        if frames:
            yield from self.lookup_video(frames, pdq_threshold=pdq_threshold)

    def _lookup(self, hashes: dict[HashType, list[str]], pdq_threshold: int) -> Iterator[LookupHit]:
        for t in (HashType.MD5, HashType.SHA1, HashType.SHA256):
            for value in hashes.get(t, []):
                v = validate_signal_str(t, value)
                for e in self._store.lookup(t.value, v):
                    yield LookupHit(t.value, v, e, 0)
        pdqs = [validate_signal_str(HashType.PDQ, v) for v in hashes.get(HashType.PDQ, [])]
        if pdqs:
            index, _ = self._index()
            q = np.frombuffer(b"".join(bytes.fromhex(p) for p in pdqs), np.uint8).reshape(-1, 32)
            for qi, entry_id, dist in index.search(q, radius=pdq_threshold):
                yield LookupHit(HashType.PDQ, pdqs[qi], self._store.entry(entry_id), dist)


def lookup_hashes(
    path: Path | None,
    *,
    sha256: str | None = None,
    md5: str | None = None,
    sha1: str | None = None,
    pdq: str | None = None,
    rotations: bool = False,
) -> tuple[dict[HashType, list[str]], tuple[VideoFrame, ...]]:
    """What to look up for a file and/or given hashes: hashes by type, and a video's vPDQ
    frames. A file is read and hashed as a scan would (``rotations``: also its PDQ's 7
    rotations/flips); raises :class:`VerisightError` when it cannot be read."""
    from verisight.analysis import analyse_path
    from verisight.limits import Limits

    hashes: dict[HashType, list[str]] = {}
    for t, v in ((HashType.SHA256, sha256), (HashType.MD5, md5), (HashType.SHA1, sha1),
                 (HashType.PDQ, pdq)):  # fmt: skip
        if v:
            hashes.setdefault(t, []).append(v)
    if path is None:
        return hashes, ()
    try:
        rec = analyse_path(path, Limits())
    except OSError as exc:
        raise VerisightError(f"cannot read {path}: {exc}") from exc
    hashes.setdefault(HashType.SHA256, []).append(rec.sha256)
    hashes.setdefault(HashType.MD5, []).append(rec.md5)
    hashes.setdefault(HashType.SHA1, []).append(rec.sha1)
    if rec.pdq:
        variants = list(rec.pdq_variants or ()) if rotations else []
        hashes.setdefault(HashType.PDQ, []).extend([rec.pdq, *variants])
    return hashes, tuple(rec.video.frames) if rec.video is not None else ()


def _bank_videos(
    bank_frames: Sequence[tuple[int, int, str, VideoFrame]],
) -> tuple[dict[tuple[int, str], list[VideoFrame]], dict[tuple[int, str], int]]:
    """vPDQ bank frames grouped by (bank id, video id), and each video's first entry id
    (the entry a video match is recorded against)."""
    known: dict[tuple[int, str], list[VideoFrame]] = {}
    first: dict[tuple[int, str], int] = {}
    for entry_id, bank_id, vid, frame in bank_frames:
        known.setdefault((bank_id, vid), []).append(frame)
        first.setdefault((bank_id, vid), entry_id)
    return known, first


class _MatchPass:
    """One :meth:`Banking.match` call: the banks and rules fixed once, the PDQ index loaded
    at the first chunk that needs it, then each chunk of media matched and recorded."""

    def __init__(
        self,
        banking: Banking,
        all_banks: list[BankView],
        chosen: list[BankView],
        pdq_threshold: int | None,
        min_quality: int,
        rotations: bool,
    ) -> None:
        self.banking = banking
        self.by_id = {b.id: b for b in all_banks}
        self.chosen = chosen
        self.negative_ids = [b.id for b in all_banks if b.kind == "negative"]
        self.wanted = {b.id for b in chosen} | set(self.negative_ids)
        self.pdq_threshold = pdq_threshold
        self.min_quality = min_quality
        self.rotations = rotations
        self.radius = max(
            [pdq_threshold or b.pdq_threshold or PDQ_THRESHOLD for b in chosen]
            + [b.pdq_threshold or PDQ_THRESHOLD for b in all_banks if b.kind == "negative"]
        )
        self._index: tuple[PDQIndex, dict[int, int]] | None = None
        self._disabled: set[int] | None = None

    def run(self, media_list: list[str] | None, summary: MatchSummary) -> None:
        """Match ``media_list`` (None: every media) and add to ``summary`` (chunks hold
        distinct media, so every count adds up)."""
        banking, store = self.banking, self.banking._store
        wanted = sorted(self.wanted)
        found: list[NewMatch] = []
        for t in EXACT_TYPES:
            found.extend(store.exact_matches(t, media_list, wanted))
        found.extend(
            banking._video_matches(media_list, wanted, self.min_quality, self.pdq_threshold)
        )
        rows = store.media_pdq(media_list)
        summary.media_considered += len(rows) if media_list is None else len(media_list)
        queries: list[bytes] = []
        owners: list[tuple[str, str]] = []
        for sha, pdq, quality, variants, trimmed in rows:
            if quality is None or quality < self.min_quality:
                summary.low_quality += 1
                continue
            hashes = [pdq, *(variants.split(",") if self.rotations and variants else [])]
            named = list(zip(VARIANTS, hashes, strict=False))
            if trimmed:
                named.append(("trimmed", trimmed))
            for variant, h in named:
                queries.append(bytes.fromhex(h))
                owners.append((sha, variant))
        if queries:
            if self._index is None:
                self._index = banking._index()
            index, entry_bank = self._index
            q = np.frombuffer(b"".join(queries), dtype=np.uint8).reshape(-1, 32)
            for qi, entry_id, dist in index.search(q, radius=self.radius):
                bank = self.by_id[entry_bank[entry_id]]
                if bank.id not in self.wanted:
                    continue
                limit = self.pdq_threshold or bank.pdq_threshold or PDQ_THRESHOLD
                if dist <= limit:
                    sha, variant = owners[qi]
                    found.append(NewMatch(sha, bank.id, entry_id, HashType.PDQ, dist, variant))
        if self._disabled is None:
            self._disabled = store.disabled_entries(time.time())
        if self._disabled:  # a disabled entry (admin page, platform API) matches nothing
            found = [m for m in found if m.entry_id not in self._disabled]
        chosen_ids = {b.id for b in self.chosen}
        negative_media = {m.media_sha256 for m in found if m.bank_id in self.negative_ids}
        kept: list[NewMatch] = []
        for m in found:
            if m.bank_id in self.negative_ids:
                kept.append(m)  # the allow-list hit itself is evidence: keep it
            elif m.media_sha256 in negative_media:
                summary.suppressed += 1
            elif m.bank_id in chosen_ids:
                kept.append(m)
        summary.matches_found += len(kept)
        summary.new_matches += store.write_matches(kept)
        summary.media_matched += len({m.media_sha256 for m in kept})
        summary.by_bank.update(self.by_id[m.bank_id].name for m in kept)

"""Hash banks as a service: import a list, match a case against its banks, look a hash up.

The CLI and the web app call these functions; they hold the rules, the store
(:mod:`verisight.store.banks`) holds the SQL, :mod:`verisight.matching` the formats and the index.

Rules:

* An import is atomic: entries are inserted in one transaction and an invalid row fails the
  whole import (unless ``skip_invalid``); a file already imported into a bank (same SHA-256)
  changes nothing; an entry already in the bank is not added twice.
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

import hashlib
import shutil
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from verisight.analysis.record import VideoFrame
from verisight.errors import UsageError
from verisight.matching import (
    IndexFileError,
    PDQIndex,
    SkippedRow,
    read_bank,
    write_bank,
)
from verisight.matching.signals import PDQ_THRESHOLD, HashType, validate_signal_str
from verisight.matching.vpdq import match_videos
from verisight.store.banks import EXACT_TYPES, BankStore, BankView, EntryView, NewMatch
from verisight.store.video import iter_video_frames

#: Meta's dihedral order, as ``pdqhash.compute_dihedral`` returns the hashes.
VARIANTS = (
    "original", "rotate90", "rotate180", "rotate270", "flipx", "flipy", "flipplus1", "flipminus1",
)  # fmt: skip
MIN_QUALITY = 50
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


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Banking:
    """Bank operations on one case (``case`` is a :class:`verisight.case.Case`)."""

    def __init__(self, store: BankStore, case_dir: Path) -> None:
        self.store = store
        self.index_dir = case_dir / "index" / "pdq-banks"

    # -- banks ---------------------------------------------------------------------------

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
        existed = any(b.name == name for b in self.store.all())
        bank = self.store.ensure(name, label=label, kind=kind, pdq_threshold=pdq_threshold)
        digest = _file_sha256(path)
        if self.store.already_imported(bank.id, digest):
            return ImportResult(bank, format, 0, 0, [], True, None)
        reader = read_bank(path, format, skip_invalid=skip_invalid)
        try:
            read, added = self.store.import_entries(
                bank.id, source=str(path), source_sha256=digest, format=format,
                entries=reader, skipped=reader.skipped,
            )  # fmt: skip
        except Exception:
            if not existed:
                self.store.delete(name)
            raise
        summary = self.match(banks=[name]) if rematch else None
        return ImportResult(
            self.store.get(name), reader.format or format, read, added, reader.skipped, False,
            summary,
        )  # fmt: skip

    def export(self, name: str, out: Any, format: str, *, vics_model: str = "Default") -> int:
        bank = self.store.get(name)
        entries = self.store.iter_entries(bank.id)
        return write_bank(entries, out, format, vics_model=vics_model).written

    def delete(self, name: str) -> None:
        self.store.delete(name)
        shutil.rmtree(self.index_dir, ignore_errors=True)

    # -- the PDQ index ---------------------------------------------------------------------

    def _index(self) -> tuple[PDQIndex, dict[int, int]]:
        """The PDQ index of every bank's entries, and entry id → bank id."""
        banks = [b.id for b in self.store.all()]
        hashes, ids, bank_ids = self.store.pdq_entries(banks)
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
        media: Sequence[str] | None = None,
        pdq_threshold: int | None = None,
        min_quality: int = MIN_QUALITY,
        rotations: bool = False,
    ) -> MatchSummary:
        """Match media (all, or ``media``) against banks (all, or ``banks``); record matches."""
        all_banks = self.store.all()
        by_id = {b.id: b for b in all_banks}
        chosen = [self.store.get(n) for n in banks] if banks is not None else all_banks
        summary = MatchSummary()
        if not chosen:
            return summary
        negative_ids = [b.id for b in all_banks if b.kind == "negative"]
        wanted = {b.id for b in chosen} | set(negative_ids)
        media_list = list(media) if media is not None else None
        found: list[NewMatch] = []
        for t in EXACT_TYPES:
            found.extend(self.store.exact_matches(t, media_list, sorted(wanted)))
        found.extend(self._video_matches(media_list, sorted(wanted), min_quality, pdq_threshold))
        rows = self.store.media_pdq(media_list)
        summary.media_considered = len(rows) if media_list is None else len(media_list)
        queries: list[bytes] = []
        owners: list[tuple[str, str]] = []
        for sha, pdq, quality, variants, trimmed in rows:
            if quality is None or quality < min_quality:
                summary.low_quality += 1
                continue
            hashes = [pdq, *(variants.split(",") if rotations and variants else [])]
            named = list(zip(VARIANTS, hashes, strict=False))
            if trimmed:
                named.append(("trimmed", trimmed))
            for variant, h in named:
                queries.append(bytes.fromhex(h))
                owners.append((sha, variant))
        if queries:
            index, entry_bank = self._index()
            radius = max(
                [pdq_threshold or b.pdq_threshold or PDQ_THRESHOLD for b in chosen]
                + [b.pdq_threshold or PDQ_THRESHOLD for b in all_banks if b.kind == "negative"]
            )
            q = np.frombuffer(b"".join(queries), dtype=np.uint8).reshape(-1, 32)
            for qi, entry_id, dist in index.search(q, radius=radius):
                bank = by_id[entry_bank[entry_id]]
                if bank.id not in wanted:
                    continue
                limit = pdq_threshold or bank.pdq_threshold or PDQ_THRESHOLD
                if dist <= limit:
                    sha, variant = owners[qi]
                    found.append(NewMatch(sha, bank.id, entry_id, HashType.PDQ, dist, variant))
        chosen_ids = {b.id for b in chosen}
        negative_media = {m.media_sha256 for m in found if m.bank_id in negative_ids}
        kept: list[NewMatch] = []
        for m in found:
            if m.bank_id in negative_ids:
                kept.append(m)  # the allow-list hit itself is evidence: keep it
            elif m.media_sha256 in negative_media:
                summary.suppressed += 1
            elif m.bank_id in chosen_ids:
                kept.append(m)
        summary.matches_found = len(kept)
        summary.new_matches = self.store.write_matches(kept)
        summary.media_matched = len({m.media_sha256 for m in kept})
        summary.by_bank.update(by_id[m.bank_id].name for m in kept)
        return summary

    def _video_matches(
        self, media: list[str] | None, bank_ids: list[int], min_quality: int, limit: int | None
    ) -> list[NewMatch]:
        """Videos' matches: vPDQ scoring against vPDQ banks, and frames against image banks.

        A vPDQ match is recorded against the bank video's first frame entry with hash type
        ``vpdq`` and distance ``round(100 - query match percent)``; a frame that matches an
        image entry is a ``pdq`` match whose variant names the frame (``t=12``).
        """
        with self.store.engine.connect() as conn:
            videos: dict[str, list[VideoFrame]] = {}
            for sha, f in iter_video_frames(conn, media):
                videos.setdefault(sha, []).append(f)
        if not videos:
            return []
        bank_frames = self.store.vpdq_frames(bank_ids)
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
        by_id = {b.id: b for b in self.store.all()}
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
    ) -> Iterator[tuple[str, str, EntryView, int]]:
        """Look a video's vPDQ frames up: vPDQ bank videos it matches (hash type ``vpdq``,
        query ``"<query %>/<compared %>"``, distance ``round(100 - query %)``), then each
        frame within ``pdq_threshold`` of an image entry (hash type ``pdq``)."""
        bank_ids = [b.id for b in self.store.all()]
        bank_frames = self.store.vpdq_frames(bank_ids)
        known, first = _bank_videos(bank_frames)
        for _, key, s in match_videos({"query": list(frames)}, known):
            label = f"{s.query_percent:.0f}%/{s.compared_percent:.0f}%"
            yield "vpdq", label, self.store.entry(first[key]), round(100 - s.query_percent)
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
            yield HashType.PDQ, query, self.store.entry(entry_id), dist

    def lookup(
        self, hashes: dict[HashType, list[str]], *, pdq_threshold: int = PDQ_THRESHOLD
    ) -> Iterator[tuple[str, str, EntryView, int]]:
        """Ad-hoc look-up without scanning: yields (hash type, query, entry, distance).

        ``hashes[HashType.PDQ]`` may hold several hashes (e.g. the 8 dihedral variants)."""
        for t in (HashType.MD5, HashType.SHA1, HashType.SHA256):
            for value in hashes.get(t, []):
                v = validate_signal_str(t, value)
                for e in self.store.lookup(t.value, v):
                    yield t.value, v, e, 0
        pdqs = [validate_signal_str(HashType.PDQ, v) for v in hashes.get(HashType.PDQ, [])]
        if pdqs:
            index, _ = self._index()
            q = np.frombuffer(b"".join(bytes.fromhex(p) for p in pdqs), np.uint8).reshape(-1, 32)
            for qi, entry_id, dist in index.search(q, radius=pdq_threshold):
                yield HashType.PDQ, pdqs[qi], self.store.entry(entry_id), dist


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

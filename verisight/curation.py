"""Banks as the platform API sees them: HMA-style curation, hashing uploads, matching signals.

The shells (``verisight api``) call :class:`Curation`, reached as ``case.curation``. It holds the
rules; :mod:`verisight.store.content` and :mod:`verisight.store.banks` hold the SQL. Every change
is written to the hash-chained audit log under the actor (an API key's name).

Rules:

* Bank *content* is a bank entry; its id is HMA's ``bank_content_id``. A video added by its
  vPDQ hash is one content whose frames are rows sharing a ``source_id``.
* Signal types are those of :mod:`verisight.hashing`; a ``video_md5`` is stored as the entry's
  MD5.
* Disabled content (``disable_until_ts`` 0, or a time still in the future) is never returned
  by any look-up: the state is read from the database with the matched entries, so it holds
  on every replica at once.
* Matching signals (:meth:`Curation.match`) applies per-bank PDQ thresholds and negative banks
  exactly as ``verisight match`` does: a query that hits a negative bank has its hits in every
  other bank suppressed; the negative hit itself is returned.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from verisight.analysis.record import VideoFrame
from verisight.banking import BANK_KINDS, VARIANTS, Banking
from verisight.errors import UsageError
from verisight.hashing import (
    EXACT,
    SIGNAL_TYPES,
    BadSignal,
    format_vpdq,
    parse_vpdq,
    validate_signal,
)
from verisight.matching.entry import BankEntry
from verisight.matching.signals import PDQ_THRESHOLD
from verisight.matching.vpdq import match_videos
from verisight.store.audit import AuditLog
from verisight.store.banks import BankNotFound, BankStore, BankView
from verisight.store.content import DISABLED, ENABLED, ContentStore, ContentView

_BANK_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}")
NOTE_MAX = 255
FIVE_YEARS = 5 * 365 * 86400


class BankExists(UsageError):
    """A bank with that name exists already (HMA answers 403)."""


class ContentNotFound(UsageError):
    """No content with that id in that bank."""


@dataclass(frozen=True, slots=True)
class ApiBank:
    """A bank with HMA's ``matching_enabled_ratio`` beside Verisight's settings."""

    id: int
    name: str
    matching_enabled_ratio: float
    kind: str
    pdq_threshold: int | None
    label: str | None
    entries: int

    @property
    def threshold(self) -> int:
        return self.pdq_threshold if self.pdq_threshold is not None else PDQ_THRESHOLD


@dataclass(frozen=True, slots=True)
class SignalMatch:
    """One signal's match: the content, its distance (vPDQ: ``"q%[c%]"``), the threshold
    applied and which dihedral variant of the query matched (PDQ only)."""

    query: str
    content: ContentView
    distance: int | str
    threshold: int | None = None
    variant: str | None = None


@dataclass
class MatchOutcome:
    """Every signal's matches, in the order the signals came, and what was suppressed."""

    matches: list[list[SignalMatch]]
    suppressed: list[int] = field(default_factory=list)


#: A bank's (id, name, kind, PDQ threshold, label, enabled ratio): what matching needs of it.
BankRule = tuple[int, str, str, int | None, str | None, float]


class PDQSearcher(Protocol):
    """An in-memory PDQ index (``verisight.api.index.FollowedIndex`` in the API)."""

    def search(self, queries: np.ndarray, radius: int) -> list[tuple[int, int, int]]:
        """(query row, entry id, distance) of every entry within ``radius``."""
        ...


def enabled(disable_until_ts: int, now: float | None = None) -> bool:
    """HMA's rule: 0 disabled, 1 enabled, otherwise enabled once the time has passed."""
    if disable_until_ts == DISABLED:
        return False
    if disable_until_ts == ENABLED:
        return True
    return disable_until_ts <= (time.time() if now is None else now)


class Curation:
    """HMA-style bank curation and signal matching over a case's banks."""

    def __init__(
        self, banking: Banking, banks: BankStore, content: ContentStore, audit: AuditLog
    ) -> None:
        self.banking = banking
        self._rows = banks  # the bank rows this service curates (HMA's banks are ours)
        self.content = content
        self.audit = audit

    # -- banks ---------------------------------------------------------------------------

    def bank_rules(self) -> list[BankRule]:
        """Every bank's matching rules, in one query (the API caches them per replica)."""
        return self.content.bank_rules()

    def banks(self) -> list[ApiBank]:
        ratios = self.content.enabled_ratios()
        return [self._api_bank(b, ratios) for b in self._rows.all()]

    def bank(self, name: str) -> ApiBank:
        return self._api_bank(self._rows.get(name), self.content.enabled_ratios())

    @staticmethod
    def _api_bank(b: BankView, ratios: dict[int, float]) -> ApiBank:
        return ApiBank(
            b.id, b.name, ratios.get(b.id, 1.0), b.kind, b.pdq_threshold, b.label, b.entries
        )

    def create_bank(
        self,
        actor: str,
        name: str,
        *,
        enabled_ratio: float = 1.0,
        kind: str = "match",
        pdq_threshold: int | None = None,
    ) -> ApiBank:
        if not _BANK_NAME.fullmatch(name or ""):
            raise UsageError(
                f"invalid bank name {name!r}: letters, digits, _ . - (at most 200 characters)"
            )
        _check_ratio(enabled_ratio)
        if kind not in BANK_KINDS:
            raise UsageError(f"kind must be one of {', '.join(BANK_KINDS)}")
        if any(b.name == name for b in self._rows.all()):
            raise BankExists("Bank already exists")
        bank = self._rows.ensure(name, label=None, kind=kind, pdq_threshold=pdq_threshold)
        if enabled_ratio != 1.0:
            self.content.set_enabled_ratio(bank.id, enabled_ratio)
        self.audit.append(
            actor, "api-bank-create",
            detail={"bank": name, "enabled_ratio": enabled_ratio, "kind": kind},
        )  # fmt: skip
        return self.bank(name)

    def update_bank(
        self, actor: str, name: str, *, new_name: str | None, enabled_ratio: float | None
    ) -> ApiBank:
        bank = self.bank(name)
        detail: dict[str, Any] = {"bank": name}
        if new_name is not None and new_name != name:
            if not _BANK_NAME.fullmatch(new_name):
                raise UsageError(f"invalid bank name {new_name!r}")
            if any(b.name == new_name for b in self._rows.all()):
                raise BankExists("Bank name already exists")
            self.content.rename_bank(bank.id, new_name)
            detail["name"] = new_name
        if enabled_ratio is not None:
            _check_ratio(enabled_ratio)
            self.content.set_enabled_ratio(bank.id, enabled_ratio)
            detail["enabled_ratio"] = enabled_ratio
        self.audit.append(actor, "api-bank-update", detail=detail)
        return self.bank(new_name or name)

    def delete_bank(self, actor: str, name: str) -> bool:
        """Delete a bank (HMA answers "Done" also when there was none); True if it existed."""
        try:
            bank = self.bank(name)
        except BankNotFound:
            return False
        self.banking.delete(name)
        self.content.bank_deleted(bank.id)
        self.audit.append(actor, "api-bank-delete", detail={"bank": name, "entries": bank.entries})
        return True

    # -- content -------------------------------------------------------------------------

    def add_content(
        self,
        actor: str,
        bank_name: str,
        signals: dict[str, str],
        *,
        metadata: dict[str, Any] | None = None,
        note: str | None = None,
    ) -> tuple[int, dict[str, str]]:
        """Add one content by its signals; returns (content id, the validated signals)."""
        bank = self.bank(bank_name)
        if not signals:
            raise BadSignal("No signals given")
        clean: dict[str, str] = {}
        for name, value in signals.items():
            if name not in SIGNAL_TYPES:
                raise BadSignal(f"No such signal type {name}")
            if not isinstance(value, str):
                raise BadSignal(f"Invalid {name} signal: not a string")
            clean[name] = validate_signal(name, value)
        _check_note(note)
        label = (metadata or {}).get("content_id")
        base: dict[str, Any] = {
            "md5": clean.get("md5") or clean.get("video_md5"),
            "sha1": clean.get("sha1"), "sha256": clean.get("sha256"), "pdq": clean.get("pdq"),
            "source_id": str(label) if label is not None else None,
            "comments": note,
        }  # fmt: skip
        rows: list[BankEntry] = []
        if "vpdq" in clean:
            video_id = base["source_id"] or f"api:{uuid.uuid4().hex}"
            frames = parse_vpdq(clean["vpdq"])
            if not frames:
                raise BadSignal("Invalid vpdq signal: no frames")
            if base["pdq"]:
                raise BadSignal("a video is added by its vpdq, not a pdq")
            for i, f in enumerate(frames):  # the first frame row carries the file's hashes
                exact = {k: base[k] for k in ("md5", "sha1", "sha256")} if i == 0 else {}
                rows.append(
                    BankEntry(
                        pdq=f.pdq, pdq_quality=f.quality, source_id=video_id, comments=note,
                        frame=f.number, timestamp=f.t, **exact,
                    )
                )  # fmt: skip
        else:
            rows.append(BankEntry(**base))
        content_id = self.content.add(bank.id, rows, note=note, user_metadata=metadata or None)
        self.audit.append(
            actor, "api-content-add",
            detail={"bank": bank.name, "content": content_id, "signals": sorted(clean)},
        )  # fmt: skip
        return content_id, clean

    def get_content(self, bank_name: str, content_id: int) -> ContentView:
        bank = self.bank(bank_name)
        found = self.content.get([content_id]).get(content_id)
        if found is None or found.bank_id != bank.id:
            raise ContentNotFound(f"content '{content_id}' not found")
        return found

    def content_signals(self, c: ContentView) -> dict[str, str]:
        r = c.row
        out = {k: v for k, v in (("pdq", r.pdq), ("md5", r.md5), ("sha1", r.sha1),
                                 ("sha256", r.sha256)) if v}  # fmt: skip
        if r.frame is not None:  # a video: its frames are its vPDQ
            out.pop("pdq", None)
            if "md5" in out:
                out["video_md5"] = out.pop("md5")
            frames = [f for _, bank_id, vid, f in self._rows.vpdq_frames([c.bank_id])
                      if vid == (r.source_id or "")]  # fmt: skip
            out["vpdq"] = format_vpdq(frames)
        return out

    def update_content(
        self,
        actor: str,
        bank_name: str,
        content_id: int,
        *,
        disable_until_ts: int | None = None,
        note: str | None = None,
        set_note: bool = False,
    ) -> ContentView:
        c = self.get_content(bank_name, content_id)
        ts = c.disable_until_ts
        if disable_until_ts is not None:
            if disable_until_ts < 0:
                raise UsageError("disable_until_ts must be a non-negative integer")
            if disable_until_ts > time.time() + FIVE_YEARS:
                raise UsageError("disable_until_ts must be less than 5 years in the future")
            ts = disable_until_ts
        if set_note:
            _check_note(note)
        new_note = (note or None) if set_note else c.note
        self.content.update(content_id, disable_until_ts=ts, note=new_note)
        self.audit.append(
            actor, "api-content-update",
            detail={"bank": c.bank, "content": content_id, "disable_until_ts": ts},
        )  # fmt: skip
        return self.get_content(bank_name, content_id)

    def delete_content(self, actor: str, bank_name: str, content_id: int) -> int:
        bank = self.bank(bank_name)
        n = self.content.remove(bank.id, content_id)
        if n:
            self.audit.append(
                actor, "api-content-remove", detail={"bank": bank.name, "content": content_id}
            )
        return n

    # -- the feed an in-memory index follows ---------------------------------------------

    def pdq_after(self, after_id: int) -> tuple[np.ndarray, np.ndarray]:
        """PDQ image entries added after ``after_id``: (hashes (n, 32) uint8, ids)."""
        return self.content.pdq_after(after_id)

    def pdq_count(self) -> int:
        return self.content.pdq_count()

    def last_change(self) -> int:
        return self.content.last_change()

    def removals_after(self, seq: int) -> tuple[int, bool]:
        """(newest change, whether content was removed or a bank deleted after ``seq``)."""
        return self.content.removals_after(seq)

    # -- matching ------------------------------------------------------------------------

    def match(
        self,
        signal_type: str,
        signals: Sequence[str | Sequence[str]],
        searcher: PDQSearcher,
        *,
        banks: set[str] | None = None,
        negative: bool = True,
        coinflip: Callable[[], float] | None = None,
        pdq_threshold: int | None = None,
        rules: Sequence[BankRule] | None = None,
    ) -> MatchOutcome:
        """Match each signal (for PDQ: one hash, or its 8 dihedral variants in Meta's order)
        against every bank; disabled content never appears.

        ``banks`` limits the banks returned; ``negative`` applies negative banks; ``coinflip``
        (HMA's per-request coin) drops banks whose enabled ratio is below it; ``rules`` are
        :meth:`bank_rules` as the caller cached them (the API's replicas), else read now."""
        rules = self.bank_rules() if rules is None else rules
        all_banks = {r[0]: ApiBank(r[0], r[1], r[5], r[2], r[3], r[4], -1) for r in rules}
        if coinflip is not None and any(b.matching_enabled_ratio < 1 for b in all_banks.values()):
            coin = coinflip()  # (a coin in [0, 1) never drops a bank at ratio 1: not drawn)
            allowed = {i for i, b in all_banks.items() if b.matching_enabled_ratio >= coin}
        else:
            allowed = set(all_banks)
        hits: list[tuple[int, int, int | str, int | None, str | None, str]] = []
        queries: list[str] = []
        contents: dict[int, ContentView] | None = None
        if signal_type == "pdq":
            hits, queries, contents = self._pdq_hits(signals, searcher, all_banks, pdq_threshold)
        elif signal_type == "vpdq":
            for qi, s in enumerate(signals):
                v = validate_signal("vpdq", str(s))
                queries.append(v)
                for _, _key, score, entry_id in self._vpdq(parse_vpdq(v)):
                    d = f"{score.query_percent:.0f}%[{score.compared_percent:.0f}%]"
                    hits.append((qi, entry_id, d, None, None, v))
        elif signal_type in EXACT:
            values = [validate_signal(signal_type, str(s)) for s in signals]
            queries = values
            found = self.content.exact(EXACT[signal_type], values)
            for qi, v in enumerate(values):
                hits.extend((qi, eid, 0, None, None, v) for eid in found.get(v, []))
        else:
            raise BadSignal(f"No such SignalType '{signal_type}'")
        if contents is None:
            contents = self.content.get(h[1] for h in hits) if hits else {}
        now = time.time()
        per_query: list[list[SignalMatch]] = [[] for _ in queries]
        for qi, eid, dist, limit, variant, q in hits:
            c = contents.get(eid)
            if c is None or not enabled(c.disable_until_ts, now) or c.bank_id not in allowed:
                continue
            per_query[qi].append(SignalMatch(q, c, dist, limit, variant))
        outcome = MatchOutcome([])
        negative_ids = {i for i, b in all_banks.items() if b.kind == "negative"}
        for qi, found_q in enumerate(per_query):
            if negative and any(m.content.bank_id in negative_ids for m in found_q):
                kept = [m for m in found_q if m.content.bank_id in negative_ids]
                if len(kept) < len(found_q):
                    outcome.suppressed.append(qi)
                found_q = kept
            if banks is not None:
                found_q = [m for m in found_q if m.content.bank in banks]
            best: dict[int, SignalMatch] = {}
            for m in found_q:  # one result per content: the nearest variant
                old = best.get(m.content.id)
                if old is None or _rank(m) < _rank(old):
                    best[m.content.id] = m
            outcome.matches.append(sorted(best.values(), key=lambda m: (m.content.bank, _rank(m))))
        return outcome

    def _pdq_hits(
        self,
        signals: Sequence[str | Sequence[str]],
        searcher: PDQSearcher,
        all_banks: dict[int, ApiBank],
        pdq_threshold: int | None,
    ) -> tuple[
        list[tuple[int, int, int | str, int | None, str | None, str]],
        list[str],
        dict[int, ContentView],
    ]:
        """The index's hits within each bank's threshold, with their content (banks and states
        in one query, none when nothing is near)."""
        rows: list[bytes] = []
        owners: list[tuple[int, str]] = []
        queries: list[str] = []
        for qi, s in enumerate(signals):
            variants = [s] if isinstance(s, str) else list(s)
            if not variants or len(variants) > len(VARIANTS):
                raise BadSignal("a PDQ signal is one hash or a list of up to 8 variants")
            clean = [validate_signal("pdq", str(v)) for v in variants]
            queries.append(clean[0])
            for name, h in zip(VARIANTS, clean, strict=False):
                rows.append(bytes.fromhex(h))
                owners.append((qi, name))
        if not rows:
            return [], queries, {}
        radius = pdq_threshold if pdq_threshold is not None else max(
            [b.threshold for b in all_banks.values()] or [PDQ_THRESHOLD]
        )  # fmt: skip
        q = np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(-1, 32)
        found = searcher.search(q, radius)
        contents = self.content.get(eid for _, eid, _ in found) if found else {}
        hits: list[tuple[int, int, int | str, int | None, str | None, str]] = []
        for row, eid, dist in found:
            c = contents.get(eid)
            bank = all_banks.get(c.bank_id) if c is not None else None
            if bank is None:
                continue
            limit = pdq_threshold if pdq_threshold is not None else bank.threshold
            if dist <= limit:
                qi, variant = owners[row]
                hits.append((qi, eid, int(dist), limit, variant, queries[qi]))
        return hits, queries, contents

    def _vpdq(self, frames: list[VideoFrame]) -> list[tuple[int, tuple[int, str], Any, int]]:
        store = self._rows
        bank_frames = store.vpdq_frames([b.id for b in store.all()])
        known: dict[tuple[int, str], list[VideoFrame]] = {}
        first: dict[tuple[int, str], int] = {}
        for entry_id, bank_id, vid, frame in bank_frames:
            known.setdefault((bank_id, vid), []).append(frame)
            first.setdefault((bank_id, vid), entry_id)
        return [(0, key, s, first[key]) for _, key, s in match_videos({"q": frames}, known)]


def _rank(m: SignalMatch) -> tuple[int, int]:
    d = m.distance if isinstance(m.distance, int) else 0
    return d, 0 if m.variant in (None, "original") else 1


def _check_ratio(ratio: float) -> None:
    if not 0.0 <= ratio <= 1.0:
        raise UsageError("enabled_ratio must be between 0.0 and 1.0")


def _check_note(note: Any) -> None:
    if note is None:
        return
    if not isinstance(note, str):
        raise UsageError("note should be a string")
    if len(note) > NOTE_MAX:
        raise UsageError("note must be at most 255 characters")


def coin(seed: str | None) -> Callable[[], float]:
    """HMA's coin flip for enabled ratios, seeded by the request's ``seed`` (the generator is
    made when the coin is flipped: seeding one from the OS costs more than a look-up's search)."""
    return lambda: random.Random(seed).random()

"""The PDQ index each ``verisight api`` process holds in memory, following the database.

:class:`FollowedIndex` refreshes from the service's feed as soon as :meth:`FollowedIndex.wake`
is called (on PostgreSQL, by :class:`verisight.api.notify.ChangeListener` on every
``NOTIFY verisight_index``) and at the latest every ``poll_seconds`` (the fallback): entries
with an id above the newest it holds are added in place (no rebuild); the last ``LOOKBACK``
ids are read again so that an id committed out of order by a concurrent writer is not skipped.
Removing content or deleting a bank through the API appends to the change feed, and the index
rebuilds once. Every ``verify_seconds`` it also compares its size with the database's count of PDQ
entries (a bank deleted by the CLI) and rebuilds if they differ. Disabled content needs no
index change: the service reads each match's state from the database (with its bank, in one
query), so a disabled entry is never returned, on any replica, from the moment it is disabled.

The first load reads the persisted segments of :mod:`verisight.api.segments` (when given a
:class:`~verisight.api.segments.SegmentStore`) plus only the rows after them, and writes a new
segment once enough rows lie past them; a full rebuild from rows rewrites them.

``ready`` is false until the first load; ``stale`` when no refresh succeeded for
``stale_seconds`` (``GET /status`` answers 503 ``INDEX-NOT-LOADED`` / ``INDEX-STALE``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

import numpy as np

from verisight.matching import PDQIndex

from .segments import SEGMENT_MIN, SegmentStore

log = logging.getLogger(__name__)


class IndexFeed(Protocol):
    def pdq_after(self, after_id: int) -> tuple[np.ndarray, np.ndarray]: ...

    def pdq_count(self) -> int: ...

    def last_change(self) -> int: ...

    def removals_after(self, seq: int) -> tuple[int, bool]:
        """(newest change, whether any change after ``seq`` removed entries)."""
        ...


#: Ids below the newest that are read again on every poll.
LOOKBACK = 1000
#: Seconds between two refreshes, however often the follower is woken.
MIN_GAP = 0.05


class FollowedIndex:
    def __init__(
        self,
        feed: IndexFeed,
        *,
        poll_seconds: float = 2.0,
        stale_seconds: float = 65.0,
        verify_seconds: float = 30.0,
        segments: SegmentStore | None = None,
    ) -> None:
        self.feed = feed
        self.segments = segments
        #: Entries the first load took from persisted segments (0: all from rows).
        self.loaded_from_segments = 0
        self.load_seconds = 0.0
        self.poll_seconds = poll_seconds
        self.stale_seconds = stale_seconds
        self._index = PDQIndex()
        self._lock = threading.Lock()
        self._max_id = 0
        self._recent: set[int] = set()
        self._seq = 0
        self.verify_seconds = verify_seconds
        self._verified = 0.0
        self.last_refresh = 0.0
        self.built_at = 0.0
        self.rebuilds = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # -- state ---------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self.last_refresh > 0

    @property
    def stale(self) -> bool:
        return self.stale_seconds > 0 and time.time() - self.last_refresh > self.stale_seconds

    def __len__(self) -> int:
        return len(self._index)

    @property
    def newest_id(self) -> int:
        return self._max_id

    # -- following -----------------------------------------------------------------------

    def refresh(self) -> None:
        """Add new entries; rebuild after removals, or if the counts disagree."""
        seq, removed = self.feed.removals_after(self._seq)
        if removed:
            self.rebuild(seq)
        floor = max(0, self._max_id - LOOKBACK)
        hashes, ids = self.feed.pdq_after(floor)
        fresh = np.fromiter((i not in self._recent for i in ids.tolist()), bool, len(ids))
        if fresh.any():
            with self._lock:
                self._index.add(hashes[fresh], ids[fresh])
                self._max_id = max(self._max_id, int(ids.max()))
            self._recent.update(ids[fresh].tolist())
            self._recent = {i for i in self._recent if i > self._max_id - LOOKBACK}
        self._seq = max(self._seq, seq)
        now = time.time()
        if now - self._verified >= self.verify_seconds:
            self._verified = now
            if self.feed.pdq_count() != len(self._index):
                self.rebuild(seq)
        self.last_refresh = time.time()

    def rebuild(self, seq: int | None = None) -> None:
        seq = self.feed.last_change() if seq is None else seq
        hashes, ids = self.feed.pdq_after(0)
        self._install(hashes, ids, seq)
        self.rebuilds += 1
        if self.segments is not None:
            cut = self._max_id - LOOKBACK
            keep = ids <= cut
            self._persist(lambda s: s.replace(hashes[keep], ids[keep], max(cut, 0), seq))

    def _install(self, hashes: np.ndarray, ids: np.ndarray, seq: int) -> None:
        index = PDQIndex.build(hashes, ids)
        with self._lock:
            self._index = index
            self._max_id = int(ids.max()) if len(ids) else 0
        self._recent = {i for i in ids.tolist() if i > self._max_id - LOOKBACK}
        self._seq = seq
        self._verified = time.time()
        self.built_at = time.time()

    def _persist(self, write: Callable[[SegmentStore], None]) -> None:
        if self.segments is None:
            return
        try:
            write(self.segments)
        except OSError:  # a read-only or full disk only makes the next start slower
            log.warning("could not persist index segments", exc_info=True)

    def load(self) -> None:
        """The first load: persisted segments plus the rows after them, else every row."""
        started = time.perf_counter()
        seq = self.feed.last_change()
        chain = self.segments.load() if self.segments is not None else None
        if chain is not None and not self.feed.removals_after(chain[3])[1]:
            seg_hashes, seg_ids, last, _ = chain
            tail_hashes, tail_ids = self.feed.pdq_after(last)
            ids = np.concatenate([seg_ids, tail_ids])
            if len(ids) == self.feed.pdq_count():
                hashes = np.concatenate([seg_hashes, tail_hashes])
                self._install(hashes, ids, seq)
                self.loaded_from_segments = len(seg_ids)
                cut = self._max_id - LOOKBACK
                new = (tail_ids > last) & (tail_ids <= cut)
                if int(new.sum()) >= SEGMENT_MIN:
                    self._persist(
                        lambda s: s.append(tail_hashes[new], tail_ids[new], last, cut, seq)
                    )
                self.load_seconds = time.perf_counter() - started
                return
        self.rebuild(seq)
        self.load_seconds = time.perf_counter() - started

    def start(self) -> None:
        """Load now, then follow in a daemon thread."""
        self.load()
        self.last_refresh = time.time()
        if self.poll_seconds > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="index-follower", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Refresh now rather than at the next poll (thread-safe; wakes coalesce)."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while True:
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.refresh()
            except Exception:  # the database may be briefly away: try again next time
                log.exception("index refresh failed")
            # a burst of notifications (a bulk import) costs one refresh per MIN_GAP at most
            self._stop.wait(MIN_GAP)

    # -- searching -----------------------------------------------------------------------

    def search(self, queries: np.ndarray, radius: int) -> list[tuple[int, int, int]]:
        # No lock: a PDQIndex's segments are immutable and ``add`` swaps in a new list of them,
        # as ``_install`` swaps in a new index, so a search reads one consistent version. (A
        # lock here serialised every request's search, and a thread holding it while waiting
        # for the GIL after the kernel held up all the others.)
        index = self._index
        found = index.search(queries, radius=radius)
        return [(int(q), int(e), int(d)) for q, e, d in found]

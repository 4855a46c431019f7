"""The PDQ index each ``verisight api`` process holds in memory, following the database.

:class:`FollowedIndex` polls the service's feed every ``poll_seconds``: entries with an id
above the newest it holds are added in place (no rebuild). When the database's count of PDQ
entries then differs from the index's (entries removed, a bank deleted, or an id committed out
of order by a concurrent writer) it rebuilds once. Disabled content needs no index change: the
service reads each match's state from the database, so a disabled entry is never returned,
on any replica, from the moment it is disabled.

``ready`` is false until the first load; ``stale`` when no refresh succeeded for
``stale_seconds`` (``GET /status`` answers 503 ``INDEX-NOT-LOADED`` / ``INDEX-STALE``).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

import numpy as np

from verisight.matching import PDQIndex

log = logging.getLogger(__name__)


class IndexFeed(Protocol):
    def pdq_after(self, after_id: int) -> tuple[np.ndarray, np.ndarray]: ...

    def pdq_count(self) -> int: ...


class FollowedIndex:
    def __init__(
        self, feed: IndexFeed, *, poll_seconds: float = 2.0, stale_seconds: float = 65.0
    ) -> None:
        self.feed = feed
        self.poll_seconds = poll_seconds
        self.stale_seconds = stale_seconds
        self._index = PDQIndex()
        self._lock = threading.Lock()
        self._max_id = 0
        self.last_refresh = 0.0
        self.built_at = 0.0
        self.rebuilds = 0
        self._stop = threading.Event()
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
        """Add new entries; rebuild if the counts still disagree."""
        hashes, ids = self.feed.pdq_after(self._max_id)
        if len(ids):
            with self._lock:
                self._index.add(hashes, ids)
                self._max_id = int(ids.max())
        if self.feed.pdq_count() != len(self._index):
            self.rebuild()
        self.last_refresh = time.time()

    def rebuild(self) -> None:
        hashes, ids = self.feed.pdq_after(0)
        index = PDQIndex.build(hashes, ids)
        with self._lock:
            self._index = index
            self._max_id = int(ids.max()) if len(ids) else 0
        self.rebuilds += 1
        self.built_at = time.time()

    def start(self) -> None:
        """Load now, then follow in a daemon thread."""
        self.rebuild()
        self.last_refresh = time.time()
        if self.poll_seconds > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="index-follower", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.refresh()
            except Exception:  # the database may be briefly away: try again next time
                log.exception("index refresh failed")

    # -- searching -----------------------------------------------------------------------

    def search(self, queries: np.ndarray, radius: int) -> list[tuple[int, int, int]]:
        with self._lock:
            found = self._index.search(queries, radius=radius)
        return [(int(q), int(e), int(d)) for q, e, d in found]

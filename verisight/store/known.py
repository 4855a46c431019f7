"""What a case already knows of the places under a scan's roots, in bounded memory.

A scan that resumes, or re-scans roots it has seen, skips every place recorded unchanged. It
reads those places once, at the start. Held in a dict they cost ~400 bytes each (measured with
``tracemalloc``): 4 GB for 10 million. :class:`KnownPlaces` keeps a dict while they are few and
moves them into a temporary SQLite file (deleted when closed or collected) past
:attr:`KnownPlaces.LIMIT`, where a look-up is one indexed point read (a few microseconds).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator

from verisight.store.records import KnownSighting, Status


class KnownPlaces:
    """Locator → :class:`KnownSighting`, read-only once built (the last row for a locator
    wins, as in a dict)."""

    #: Places kept in memory; past this, all of them go to the temporary file.
    LIMIT = 200_000
    #: Rows written to the file at a time.
    CHUNK = 20_000

    def __init__(self, rows: Iterable[tuple[str, KnownSighting]] = ()) -> None:
        self._mem: dict[str, KnownSighting] = {}
        self._db: sqlite3.Connection | None = None
        for locator, known in rows:
            self._mem[locator] = known
            if len(self._mem) >= (self.CHUNK if self._db is not None else self.LIMIT):
                self._spill()
        if self._db is not None:
            self._spill()

    @property
    def spilled(self) -> bool:
        return self._db is not None

    def _spill(self) -> None:
        if self._db is None:
            self._db = sqlite3.connect("", check_same_thread=False)  # "": a temporary file
            self._db.execute("PRAGMA journal_mode=OFF")
            self._db.execute(
                "CREATE TABLE place (locator TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER,"
                " status TEXT, reason TEXT, sha256 TEXT, kind TEXT) WITHOUT ROWID"
            )
        self._db.executemany(
            "INSERT OR REPLACE INTO place VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (loc, k.size, k.mtime_ns, k.status.value, k.reason, k.media_sha256, k.kind)
                for loc, k in self._mem.items()
            ),
        )
        self._mem.clear()

    def get(self, locator: str) -> KnownSighting | None:
        if self._db is None:
            return self._mem.get(locator)
        row = self._db.execute(
            "SELECT size, mtime_ns, status, reason, sha256, kind FROM place WHERE locator = ?",
            (locator,),
        ).fetchone()
        if row is None:
            return None
        size, mtime_ns, status, reason, sha256, kind = row
        return KnownSighting(size, mtime_ns, Status(status), reason, sha256, kind)

    def __getitem__(self, locator: str) -> KnownSighting:
        known = self.get(locator)
        if known is None:
            raise KeyError(locator)
        return known

    def __contains__(self, locator: object) -> bool:
        return isinstance(locator, str) and self.get(locator) is not None

    def __len__(self) -> int:
        if self._db is None:
            return len(self._mem)
        return int(self._db.execute("SELECT count(*) FROM place").fetchone()[0])

    def __iter__(self) -> Iterator[str]:
        if self._db is None:
            yield from list(self._mem)
            return
        for (locator,) in self._db.execute("SELECT locator FROM place ORDER BY locator"):
            yield str(locator)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        self._mem.clear()

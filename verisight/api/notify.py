"""PostgreSQL ``LISTEN verisight_index``: wakes a replica's index the moment the banks change.

Migration ``0015_index_notify`` makes every statement on ``bank_entry`` and ``bank_change``
send ``NOTIFY verisight_index`` with the table's schema as payload, whoever wrote (an API
replica, ``verisight bank import``, the web app). :class:`ChangeListener` holds one dedicated
autocommit connection listening on that channel and calls ``wake()`` for each notification from
its own schema. If the connection drops it reconnects (calling ``wake()`` once, for whatever it
missed meanwhile); the follower's poll stays the fallback throughout. SQLite has no NOTIFY:
:func:`listen_url` answers ``None`` there and replicas only poll.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

CHANNEL = "verisight_index"


def listen_url(database_url: str) -> str | None:
    """The libpq URL of a PostgreSQL ``database_url`` (SQLAlchemy form), else ``None``."""
    scheme, sep, rest = database_url.partition("://")
    if not sep or scheme.split("+")[0] not in ("postgresql", "postgres"):
        return None
    return f"postgresql://{rest}"


class ChangeListener:
    def __init__(self, url: str, wake: Callable[[], None], *, retry_seconds: float = 1.0) -> None:
        self.url = url
        self.wake = wake
        self.retry_seconds = retry_seconds
        self.connected = threading.Event()
        self.notifications = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="index-listen", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                self._listen(catch_up=not first)
            except Exception:  # the database may be briefly away: the poll covers the gap
                log.warning("LISTEN %s failed; retrying", CHANNEL, exc_info=True)
            self.connected.clear()
            first = False
            self._stop.wait(self.retry_seconds)

    def _listen(self, *, catch_up: bool) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
            schema = conn.execute("SELECT current_schema()").fetchone()
            own = str(schema[0]) if schema else "public"
            conn.execute(f"LISTEN {CHANNEL}")
            self.connected.set()
            if catch_up:
                self.wake()
            while not self._stop.is_set():
                for note in conn.notifies(timeout=1.0):
                    if note.payload in ("", own):
                        self.notifications += 1
                        self.wake()

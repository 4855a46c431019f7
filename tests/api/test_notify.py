"""PostgreSQL LISTEN/NOTIFY: a write to the banks, by any writer, wakes the listening replica
within well under a second; notifications from another schema do not; SQLite has none."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from verisight.api.notify import ChangeListener, listen_url
from verisight.case import Case

pytestmark = pytest.mark.postgres


def test_listen_url() -> None:
    assert listen_url("sqlite:///x/case.db") is None
    url = "postgresql+psycopg://u:pw@h:5/db?options=-csearch_path%3Ds"
    assert listen_url(url) == "postgresql://u:pw@h:5/db?options=-csearch_path%3Ds"


def test_a_write_wakes_the_listener(tmp_path: Path, postgres_url: str) -> None:
    woken = threading.Event()
    url = listen_url(postgres_url)
    assert url is not None
    with Case(tmp_path / "case", postgres_url, create=True) as case:
        case.curation.create_bank("test", "B")
        listener = ChangeListener(url, woken.set)
        listener.start()
        try:
            assert listener.connected.wait(10)
            woken.clear()
            start = time.perf_counter()
            case.curation.add_content("test", "B", {"pdq": "a" * 64})
            assert woken.wait(10)
            print(f"\nNOTIFY reached the listener {1000 * (time.perf_counter() - start):.1f} ms "
                  "after the write began")  # fmt: skip
            seen = listener.notifications
            with case.store.engine.begin() as conn:  # another schema's writes do not wake it
                conn.exec_driver_sql("SELECT pg_notify('verisight_index', 'other_schema')")
            time.sleep(0.5)
            assert listener.notifications == seen
        finally:
            listener.stop()

"""A replica caches key checks and the banks' rules (:data:`verisight.api.deps.CACHE_SECONDS`):
its own curation writes show at once, writes elsewhere within the cache's seconds, and a
disabled entry is never returned (its state is read with the hit)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa

from tests.api.conftest import Api
from verisight.api.deps import CACHE_SECONDS, TtlCache
from verisight.case import Case

PDQ = "f" * 64


def _found(api: Api) -> bool:
    r = api.get("/m/lookup", params={"signal_type": "pdq", "signal": PDQ})
    assert r.status_code == 200, r.text
    return bool(r.json())


def test_rules_written_here_show_at_once_and_elsewhere_within_the_cache(
    api: Api, case: Case
) -> None:
    assert api.post("/c/banks", json={"name": "B"}).status_code == 201
    cid = api.post("/c/bank/B/signal", json={"pdq": PDQ}).json()["id"]
    api.refresh()
    assert _found(api)
    # through this replica: the cached rules are dropped with the write
    assert api.put("/c/bank/B", json={"enabled_ratio": 0.0}).status_code == 200
    assert not _found(api)
    assert api.put("/c/bank/B", json={"enabled_ratio": 1.0}).status_code == 200
    assert _found(api)
    # elsewhere (the web app, another replica): seen within CACHE_SECONDS
    changed = time.monotonic()
    case.curation.update_bank("tester", "B", new_name=None, enabled_ratio=0.0)
    while _found(api):
        assert time.monotonic() - changed < CACHE_SECONDS + 0.5
        time.sleep(0.05)
    case.curation.update_bank("tester", "B", new_name=None, enabled_ratio=1.0)
    time.sleep(CACHE_SECONDS + 0.05)
    assert _found(api)
    # disabling an entry, wherever it is done, takes it out of the very next look-up
    case.curation.update_content("tester", "B", cid, disable_until_ts=0)
    assert not _found(api)


def test_a_miss_makes_no_query_and_a_hit_one(api: Api, case: Case) -> None:
    assert api.post("/c/banks", json={"name": "B"}).status_code == 201
    assert api.post("/c/bank/B/signal", json={"pdq": PDQ}).status_code == 200
    api.refresh()
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):  # not the key counts' flush
            statements.append(statement)

    miss = {"signal_type": "pdq", "signal": "0" * 64}
    assert api.get("/m/lookup", params=miss).json() == {}  # fills the caches
    # every engine: on PostgreSQL the look-ups read through a pool of their own
    sa.event.listen(sa.Engine, "before_cursor_execute", seen)
    try:
        assert api.get("/m/lookup", params=miss).json() == {}
        assert statements == []
        assert _found(api)
        assert len(statements) == 1, statements
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", seen)


def test_lookups_survive_their_connections_being_dropped(
    api: Api, case: Case, database_url: str
) -> None:
    """The look-ups' pool does not ping a connection before each use (a round trip): a
    connection the server closed (PostgreSQL restarted, a proxy timed out) is found dead on
    use, and the read is made again on a fresh one instead of failing the request."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite: no server to drop connections")
    assert api.post("/c/banks", json={"name": "B"}).status_code == 201
    assert api.post("/c/bank/B/signal", json={"pdq": PDQ}).status_code == 200
    api.refresh()
    time.sleep(CACHE_SECONDS + 0.05)  # the next look-up reads the key and the rules too
    used: set[int] = set()

    def checkout(dbapi_conn: Any, *args: Any) -> None:
        used.add(dbapi_conn.info.backend_pid)

    sa.event.listen(sa.pool.Pool, "checkout", checkout)
    try:
        assert _found(api)
    finally:
        sa.event.remove(sa.pool.Pool, "checkout", checkout)
    assert used
    with case.store.engine.connect() as conn:  # only the connections that look-up used
        for pid in used:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    time.sleep(CACHE_SECONDS + 0.05)
    for _ in range(3):
        assert _found(api)


def test_an_expired_entry_is_read_once_however_many_requests_want_it() -> None:
    """When a cached key or rule set expires under load, one request reads it again and the
    others wait for that read (they used to read it all at once, once a second)."""
    cache: TtlCache[str, int] = TtlCache(seconds=60)
    reads: list[int] = []
    gate = threading.Event()

    def load() -> int:
        reads.append(1)
        gate.wait(5)
        return 7

    threads = [threading.Thread(target=cache.get, args=("k", load)) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    gate.set()
    for t in threads:
        t.join()
    assert reads == [1]
    assert cache.cached("k") == (7,)


def test_a_value_read_before_a_clear_is_not_kept() -> None:
    """A change (NOTIFY, or a write through this replica) that lands while a value is being read
    drops that value too: the next request reads the new state."""
    cache: TtlCache[str, int] = TtlCache(seconds=60)

    def load() -> int:
        cache.clear()  # the change arrives during the read
        return 1

    assert cache.get("k", load) == 1
    assert cache.cached("k") is None
    assert cache.get("k", lambda: 2) == 2

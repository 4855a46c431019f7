"""A replica caches key checks and the banks' rules (:data:`verisight.api.deps.CACHE_SECONDS`):
its own curation writes show at once, writes elsewhere within the cache's seconds, and a
disabled entry is never returned (its state is read with the hit)."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from tests.api.conftest import Api
from verisight.api.deps import CACHE_SECONDS
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
    sa.event.listen(case.store.engine, "before_cursor_execute", seen)
    try:
        assert api.get("/m/lookup", params=miss).json() == {}
        assert statements == []
        assert _found(api)
        assert len(statements) == 1, statements
    finally:
        sa.event.remove(case.store.engine, "before_cursor_execute", seen)

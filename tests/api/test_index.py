"""The followed index: new entries are added in place, removals trigger one rebuild, and a
removed or deleted entry is never returned even before the index catches up."""

from __future__ import annotations

from tests.api.conftest import Api
from verisight.case import Case


def test_follows_additions_in_place_and_rebuilds_after_removals(api: Api, case: Case) -> None:
    index = api.client.app.state.index  # type: ignore[attr-defined]
    api.post("/c/banks", json={"name": "B"})
    api.post("/c/banks", json={"name": "C"})
    start = index.rebuilds
    ids = [api.post("/c/bank/B/signal", json={"pdq": f"{i:064x}"}).json()["id"] for i in (1, 2)]
    api.post("/c/bank/C/signal", json={"pdq": "7" * 64})
    api.refresh()
    assert (len(index), index.rebuilds) == (3, start)
    params = {"signal_type": "pdq", "signal": f"{1:064x}"}
    assert api.get("/m/lookup", params=params).json()["B"]
    api.delete(f"/c/bank/B/content/{ids[0]}")
    # before the index follows, the removed entry is already gone from answers
    assert all(m["bank_content_id"] != ids[0]
               for m in api.get("/m/lookup", params=params).json().get("B", []))  # fmt: skip
    api.refresh()
    assert (len(index), index.rebuilds) == (2, start + 1)
    case.banking.delete("C")  # as `verisight bank delete` does
    assert api.get("/m/lookup", params={"signal_type": "pdq", "signal": "7" * 64}).json() == {}
    api.refresh()
    assert len(index) == 1

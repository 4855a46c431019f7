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
    case.banking.delete("C")  # as `verisight bank delete` does: no change feed row
    assert api.get("/m/lookup", params={"signal_type": "pdq", "signal": "7" * 64}).json() == {}
    api.refresh()
    assert len(index) == 2  # noticed by the periodic count check, not every poll
    index.verify_seconds = 0
    api.refresh()
    assert (len(index), index.rebuilds) == (1, start + 2)


def test_an_id_committed_out_of_order_is_not_skipped(api: Api) -> None:
    index = api.client.app.state.index  # type: ignore[attr-defined]
    api.post("/c/banks", json={"name": "B"})
    first = api.post("/c/bank/B/signal", json={"pdq": "1" * 64}).json()["id"]
    second = api.post("/c/bank/B/signal", json={"pdq": "2" * 64}).json()["id"]

    class Late:  # the feed as a poll sees it while `first` is still uncommitted
        def __init__(self, feed: object) -> None:
            self.feed = feed
            self.hide = True

        def __getattr__(self, name: str) -> object:
            return getattr(self.feed, name)

        def pdq_after(self, after: int) -> object:
            hashes, ids = self.feed.pdq_after(after)  # type: ignore[attr-defined]
            keep = ids != first if self.hide else ids == ids
            return hashes[keep], ids[keep]

    late = Late(index.feed)
    index.feed = late
    index.verify_seconds = 3600
    index.refresh()
    assert index.newest_id == second and len(index) == 1
    late.hide = False
    index.refresh()
    assert len(index) == 2
    assert api.get("/m/lookup", params={"signal_type": "pdq", "signal": "1" * 64}).json()["B"]

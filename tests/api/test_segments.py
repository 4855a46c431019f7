"""Persisted index segments: a restart reads the segments plus only the newer rows; a removal,
a count that disagrees (a bank deleted by the CLI) or a damaged file falls back to the rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from verisight.api import index as index_module
from verisight.api.index import FollowedIndex
from verisight.api.segments import SegmentStore
from verisight.case import Case


@pytest.fixture(autouse=True)
def _small(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_module, "LOOKBACK", 2)
    monkeypatch.setattr(index_module, "SEGMENT_MIN", 3)


def _add(case: Case, n: int, start: int) -> list[int]:
    return [
        case.curation.add_content("t", "B", {"pdq": f"{i:064x}"})[0]
        for i in range(start, start + n)
    ]


def _started(case: Case, seg: SegmentStore) -> FollowedIndex:
    index = FollowedIndex(case.curation, poll_seconds=0, segments=seg)
    index.start()
    return index


def _found(index: FollowedIndex, i: int) -> bool:
    q = np.frombuffer(bytes.fromhex(f"{i:064x}"), np.uint8).reshape(1, 32)
    return any(d == 0 for _, _, d in index.search(q, 0))


def test_restart_reads_segments_then_newer_rows(case: Case, tmp_path: Path) -> None:
    seg = SegmentStore(tmp_path / "segments")
    case.curation.create_bank("t", "B")
    ids = _add(case, 10, 1)
    first = _started(case, seg)
    assert (first.loaded_from_segments, len(first)) == (0, 10)  # nothing persisted yet
    assert seg.load() is not None and seg.load()[2] == ids[-1] - 2  # type: ignore[index]

    ids += _add(case, 5, 11)
    second = _started(case, seg)
    assert (second.loaded_from_segments, len(second)) == (8, 15)
    assert _found(second, 15) and _found(second, 1)
    third = _started(case, seg)
    assert third.loaded_from_segments == 13  # the tail became a segment of its own
    assert len(list((tmp_path / "segments").glob("pdq-*.npy"))) == 2

    case.curation.delete_content("t", "B", ids[0])  # a removal: the segments are discarded
    fourth = _started(case, seg)
    assert (fourth.loaded_from_segments, len(fourth)) == (0, 14) and not _found(fourth, 1)
    assert _started(case, seg).loaded_from_segments == 12  # rewritten by the rebuild


def test_disagreeing_count_or_damaged_file_falls_back_to_rows(case: Case, tmp_path: Path) -> None:
    seg = SegmentStore(tmp_path / "segments")
    case.curation.create_bank("t", "B")
    _add(case, 10, 1)
    _started(case, seg)
    case.banking.delete("B")  # as `verisight bank delete` does: no change feed row
    case.curation.create_bank("t", "B")
    _add(case, 4, 100)
    index = _started(case, seg)
    assert (index.loaded_from_segments, len(index)) == (0, 4)
    for f in (tmp_path / "segments").glob("pdq-*.npy"):
        f.write_bytes(b"not a segment")
    index = _started(case, seg)
    assert (index.loaded_from_segments, len(index)) == (0, 4)

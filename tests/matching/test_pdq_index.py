"""PDQIndex: exactly the brute-force result set, incremental adds, save/load, bad input.

Random hashes with planted neighbours at distances 0, 1, 30, 31, 32 and 33 from queries;
both back ends (compiled and numpy); both splits (16 × 16 bits and 12 × 21 bits) forced on
small banks, since the cost model only picks 21-bit chunks from about 2M rows.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from verisight.matching import (
    IndexFileError,
    PDQIndex,
    PDQIndexError,
    _pdq_segment,
    pdq_hashes_from_hex,
    pdq_hex_from_hashes,
)
from verisight.matching._pdq_kernels import BACKENDS

from .conftest import brute_force, flip

PLANTED = (0, 1, 30, 31, 32, 33)


def bank(
    rng: np.random.Generator, n: int, queries: int = 40
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random hashes with shuffled int64 ids, and queries with planted neighbours."""
    hashes = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    q = rng.integers(0, 256, size=(queries, 32), dtype=np.uint8)
    rows = rng.choice(n, size=len(PLANTED) * queries, replace=False)
    for k, row in enumerate(rows):
        hashes[row] = flip(q[k % queries], PLANTED[k // queries], rng)
    ids = rng.permutation(n).astype(np.int64) * 3 + (1 << 40)
    return hashes, ids, q


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=[16, 21], ids=["16x16", "12x21"])
def split(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    width = int(request.param)
    real = _pdq_segment.choose_split

    def forced(rows: int) -> tuple[int, int]:
        w, _ = real(rows)
        return (0, 0) if w == 0 else (width, _pdq_segment._key_bits(rows, width))

    monkeypatch.setattr(_pdq_segment, "choose_split", forced)
    yield width


def test_search_equals_brute_force(rng: np.random.Generator, backend: str, split: int) -> None:
    hashes, ids, q = bank(rng, 60_000)
    index = PDQIndex.build(hashes, ids, backend=backend)
    assert [s.chunks for s in index.segments()] == [16 if split == 16 else 12]
    found = index.search(q, 31)
    assert set(found) == brute_force(hashes, ids, q, 31)
    distances = {d for _, _, d in found}
    assert {0, 1, 30, 31} <= distances and not distances & {32, 33}


@pytest.mark.parametrize("radius", [0, 1, 8, 15, 16, 32, 47, 80])
def test_any_radius_equals_brute_force(
    rng: np.random.Generator, backend: str, split: int, radius: int
) -> None:
    hashes, ids, q = bank(rng, 20_000, queries=12)
    found = PDQIndex.build(hashes, ids, backend=backend).search(q, radius)
    assert set(found) == brute_force(hashes, ids, q, radius)


def test_results_are_sorted_and_per_query(rng: np.random.Generator) -> None:
    hashes, ids, q = bank(rng, 5_000)
    found = PDQIndex.build(hashes, ids).search(q, 33)
    triples = list(found)
    assert triples == sorted(triples, key=lambda t: (t[0], t[2], t[1]))
    assert len(triples) == len(set(triples)) == len(found)
    for qi in (0, 7):
        assert list(found.for_query(qi)) == [t for t in triples if t[0] == qi]


def test_incremental_adds_equal_one_build(rng: np.random.Generator, backend: str) -> None:
    hashes, ids, q = bank(rng, 80_000)
    index = PDQIndex(backend=backend)
    cuts = [0, 1, 2, 700, 5_000, 5_001, 40_000, 80_000]
    for a, b in itertools.pairwise(cuts):
        index.add(hashes[a:b], ids[a:b])
        assert len(index) == b
    assert len(index.segments()) <= 1 + int(np.log2(len(index)))
    assert set(index.search(q)) == brute_force(hashes, ids, q, 31)
    index.compact()
    assert len(index.segments()) == 1
    assert set(index.search(q)) == brute_force(hashes, ids, q, 31)
    stored_hashes, stored_ids = index.rows()
    order = np.argsort(stored_ids)
    assert np.array_equal(stored_ids[order], np.sort(ids))
    assert np.array_equal(stored_hashes[order], hashes[np.argsort(ids)])


def test_tiny_and_empty_indexes(rng: np.random.Generator) -> None:
    q = rng.integers(0, 256, size=(3, 32), dtype=np.uint8)
    assert len(PDQIndex().search(q)) == 0
    index = PDQIndex.build(q[:1], [42])
    assert list(index.search(q[0])) == [(0, 42, 0)]  # one (32,) hash is one query
    assert len(index.search(np.zeros((0, 32), np.uint8))) == 0


@pytest.mark.parametrize("mmap", [True, False])
def test_save_and_load(tmp_path: Path, rng: np.random.Generator, mmap: bool) -> None:
    hashes, ids, q = bank(rng, 30_000)
    index = PDQIndex.build(hashes[:29_000], ids[:29_000])
    index.add(hashes[29_000:], ids[29_000:])  # two segments, one of them scanned
    index.save(tmp_path / "idx", tag="bank-v3")
    loaded = PDQIndex.load(tmp_path / "idx", mmap=mmap)
    assert (len(loaded), loaded.tag) == (30_000, "bank-v3")
    assert loaded.segments() == index.segments()
    assert set(loaded.search(q)) == brute_force(hashes, ids, q, 31)
    npy = sorted(p.name for p in (tmp_path / "idx").glob("*.npy"))
    for name in npy:  # plain .npy arrays: readable without Verisight, never pickles
        assert np.load(tmp_path / "idx" / name, allow_pickle=False).dtype.kind in "uif"
    loaded.add(hashes[:10], ids[:10] + 1)
    loaded.save(tmp_path / "idx")  # replaces the previous files
    again = PDQIndex.load(tmp_path / "idx")
    assert (len(again), again.tag) == (30_010, "bank-v3")
    assert not set(npy) & {p.name for p in (tmp_path / "idx").glob("*.npy")}


def test_load_refuses_damaged_indexes(tmp_path: Path, rng: np.random.Generator) -> None:
    hashes, ids, _ = bank(rng, 5_000, queries=2)
    directory = tmp_path / "idx"
    PDQIndex.build(hashes, ids).save(directory)
    manifest = json.loads((directory / "manifest.json").read_text())
    files = manifest["segments"][0]["files"]

    with pytest.raises(IndexFileError, match="missing"):
        PDQIndex.load(tmp_path / "elsewhere")

    original = np.load(directory / files["positions"])
    positions = original.copy()
    positions[3, 30:33] = 255  # a row number far past the end
    np.save(directory / files["positions"], positions)
    with pytest.raises(IndexFileError, match="past the last row"):
        PDQIndex.load(directory)

    positions[3, 30:36] = positions[3, 36:42]  # in bounds, but not a permutation
    np.save(directory / files["positions"], positions)
    with pytest.raises(IndexFileError, match="permutation"):
        PDQIndex.load(directory, verify=True)
    np.save(directory / files["positions"], original)
    assert len(PDQIndex.load(directory)) == 5_000

    for change, message in [
        ({"version": 99}, "version"),
        ({"rows": 5_001}, "add up"),
        ({"format": "other"}, "manifest"),
    ]:
        (directory / "manifest.json").write_text(json.dumps({**manifest, **change}))
        with pytest.raises(IndexFileError, match=message):
            PDQIndex.load(directory)

    evil = json.loads(json.dumps(manifest))
    evil["segments"][0]["files"]["ids"] = "../../etc/passwd"
    (directory / "manifest.json").write_text(json.dumps(evil))
    with pytest.raises(IndexFileError, match="bad file name"):
        PDQIndex.load(directory)

    (directory / "manifest.json").write_text("{not json")
    with pytest.raises(IndexFileError, match="unreadable"):
        PDQIndex.load(directory)


def test_save_refuses_a_directory_that_is_not_an_index(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(IndexFileError, match="not a PDQ index directory"):
        PDQIndex.build(np.zeros((1, 32), np.uint8), [1]).save(tmp_path)
    assert (tmp_path / "notes.txt").exists()


@pytest.mark.parametrize(
    ("hashes", "ids", "message"),
    [
        (np.zeros((2, 31), np.uint8), [1, 2], r"\(n, 32\) uint8"),
        (np.zeros((2, 32), np.int64), [1, 2], r"\(n, 32\) uint8"),
        (np.zeros((2, 32), np.uint8), [1], "1-d array of 2"),
        (np.zeros((2, 32), np.uint8), [1.0, 2.0], "integers"),
        (np.zeros((1, 32), np.uint8), np.array([2**64 - 1], np.uint64), "int64"),
    ],
)
def test_bad_arrays_are_refused(hashes: np.ndarray, ids: object, message: str) -> None:
    with pytest.raises(PDQIndexError, match=message):
        PDQIndex.build(hashes, ids)  # type: ignore[arg-type]


@pytest.mark.parametrize("radius", [-1, 257, 3.5, True])
def test_bad_radius_is_refused(radius: object) -> None:
    index = PDQIndex.build(np.zeros((1, 32), np.uint8), [1])
    with pytest.raises(PDQIndexError, match="radius"):
        index.search(np.zeros((1, 32), np.uint8), radius)  # type: ignore[arg-type]


def test_hex_helpers_and_read_only_queries(rng: np.random.Generator) -> None:
    values = [rng.bytes(32).hex() for _ in range(5)]
    hashes = pdq_hashes_from_hex(v.upper() for v in values)
    assert pdq_hex_from_hashes(hashes) == values
    frozen = np.frombuffer(bytes.fromhex(values[2]), np.uint8).reshape(1, 32)  # read-only
    found = PDQIndex.build(hashes, np.arange(5)).search(frozen)
    assert list(found) == [(0, 2, 0)]


def test_memory_stays_under_three_times_the_raw_hashes(rng: np.random.Generator) -> None:
    for n in (900, 5_000, 200_000):
        hashes = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
        index = PDQIndex.build(hashes, np.arange(n))
        assert index.nbytes <= 3 * index.raw_nbytes, (n, index.nbytes / index.raw_nbytes)


@pytest.mark.skipif(len(BACKENDS) < 2, reason="numba is not installed")
def test_both_back_ends_build_identical_arrays(rng: np.random.Generator, split: int) -> None:
    hashes = rng.integers(0, 256, size=(30_000, 32), dtype=np.uint8)
    ids = rng.permutation(30_000)
    built = [_pdq_segment.Segment.build(hashes, ids, backend) for backend in BACKENDS]
    for name in ("hashes", "ids", "offsets", "positions"):
        assert np.array_equal(getattr(built[0], name), getattr(built[1], name)), name
    assert built[0].check(full=True) is None


def test_searches_in_other_threads_see_every_row_while_rows_are_added() -> None:
    """The API searches from many request threads while its follower adds rows (and an index
    may be compacted): no lock, yet a search never misses a row that was there before it."""
    import threading

    rng = np.random.default_rng(5)
    hashes = rng.integers(0, 256, size=(3000, 32), dtype=np.uint8)
    index = PDQIndex.build(hashes, np.arange(3000, dtype=np.int64))
    probes = hashes[:50]
    stop = threading.Event()
    missed: list[int] = []

    def search() -> None:
        while not stop.is_set():
            found = index.search(probes, radius=0)
            if len({int(q) for q in found.query_idx}) != len(probes):
                missed.append(len(found))

    threads = [threading.Thread(target=search) for _ in range(3)]
    for t in threads:
        t.start()
    for k in range(20):
        more = rng.integers(0, 256, size=(200, 32), dtype=np.uint8)
        index.add(more, np.arange(3000 + 200 * k, 3200 + 200 * k, dtype=np.int64))
        if k % 5 == 4:
            index.compact()
    stop.set()
    for t in threads:
        t.join()
    assert missed == []
    assert len(index) == 7000

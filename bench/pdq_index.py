"""PDQ radius search: Verisight's exact PDQIndex against FAISS ``IndexBinaryFlat``, same run.

For each bank size it generates random 256-bit hashes, then plants, for every query, one
near-duplicate at distance ``i % (radius + 1)`` (0–31: each distance equally often) and one
decoy at distance ``radius + 1 + i % 9`` (32–40), at random rows. Then:

1. builds Verisight's ``PDQIndex`` and FAISS ``IndexBinaryFlat`` (brute force, the baseline);
2. searches the queries in batches of 500, each batch on Verisight then on FAISS, so that other
   work on a shared machine slows both alike; FAISS's binary range search keeps distances
   *strictly below* its radius (checked here on the planted rows), so it is called with
   ``radius + 1`` to mean ``≤ radius``;
3. checks that both return the identical set of ``(query, id, distance)`` triples, that every
   planted near-duplicate is found and no decoy is, and prints build time, memory (bytes and
   × the raw 32 bytes a hash), queries per second, and the throughput ratio.

Both use the same number of threads (``--threads``, default: every CPU here). Verisight's memory
is the sum of its arrays (``PDQIndex.nbytes``) and, as a cross-check, the peak that
``tracemalloc`` saw while building; FAISS's is its code array (``ntotal × 32``).

Run (full: 1M and 10M banks, 10,000 queries; the 10M FAISS baseline takes minutes)::

    .venv/bin/python bench/pdq_index.py
    .venv/bin/python bench/pdq_index.py --sizes 200000 --queries 2000   # quick
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tracemalloc
from typing import Any

import numpy as np

# FAISS's OpenMP threads otherwise spin for a while after each call, taking the CPUs from
# the Verisight batch that follows; set before FAISS (and its OpenMP runtime) is loaded.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from verisight.matching import PDQIndex


def flip_bits(rows: np.ndarray, distances: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Copies of ``rows`` with exactly ``distances[i]`` distinct bits flipped in row ``i``."""
    rank = np.argsort(rng.random((rows.shape[0], 256)), axis=1)
    flip = rank < distances[:, None]
    return rows ^ np.packbits(flip, axis=1, bitorder="little")


def make_data(
    n: int, nq: int, radius: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bank, queries, and the rows of the planted near-duplicates and decoys."""
    rng = np.random.default_rng(seed)
    bank = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    queries = rng.integers(0, 256, size=(nq, 32), dtype=np.uint8)
    rows = rng.choice(n, size=2 * nq, replace=False)
    near_rows, decoy_rows = rows[:nq], rows[nq:]
    idx = np.arange(nq)
    bank[near_rows] = flip_bits(queries, idx % (radius + 1), rng)
    bank[decoy_rows] = flip_bits(queries, radius + 1 + idx % 9, rng)
    return bank, queries, near_rows, decoy_rows


def triples(qidx: np.ndarray, ids: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """``(query, id, distance)`` rows in one canonical order, for comparing result sets."""
    out = np.stack([qidx.astype(np.int64), ids.astype(np.int64), dist.astype(np.int64)], 1)
    return out[np.lexsort((out[:, 2], out[:, 1], out[:, 0]))]


def build_faiss(bank: np.ndarray, threads: int) -> tuple[Any, dict[str, Any]]:
    import faiss

    faiss.omp_set_num_threads(threads)
    t0 = time.perf_counter()
    index = faiss.IndexBinaryFlat(256)
    index.add(bank)
    build = time.perf_counter() - t0
    return index, {"build_s": build, "nbytes": int(index.ntotal) * index.code_size}


def faiss_is_strict(index: Any, queries: np.ndarray, radius: int) -> bool:
    """Whether FAISS drops a row at exactly ``radius`` when asked for ``radius``."""
    probe = queries[radius :: radius + 1][:50]  # queries whose planted row is at `radius`
    _lims, dist, _labels = index.range_search(probe, radius)
    return not bool((dist == radius).any())


def build_verisight(bank: np.ndarray, threads: int) -> tuple[PDQIndex, dict[str, Any]]:
    ids = np.arange(bank.shape[0], dtype=np.int64)
    # Load the compiled kernels first, so that tracemalloc sees the index, not numba.
    PDQIndex.build(bank[:5000], ids[:5000], threads=threads).search(bank[:8])
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    t0 = time.perf_counter()
    index = PDQIndex.build(bank, ids, threads=threads)
    build = time.perf_counter() - t0
    held, peak = (m - base for m in tracemalloc.get_traced_memory())
    tracemalloc.stop()
    return index, {
        "build_s": build,
        "nbytes": index.nbytes,
        "traced_held": held,
        "traced_peak": peak,
        "segments": [s.__dict__ for s in index.segments()],
        "backend": index.backend,
    }


def search_both(
    verisight: PDQIndex, flat: Any, queries: np.ndarray, radius: int, batch: int
) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Both engines on the same batches, alternately (so that other load hits both alike).

    Returns each engine's total seconds and result triples.
    """
    nq = queries.shape[0]
    verisight.search(queries[:8], radius)  # warm up
    t_verisight = t_flat = 0.0
    found_verisight: list[np.ndarray] = []
    found_flat: list[np.ndarray] = []
    for start in range(0, nq, batch):
        part = queries[start : start + batch]
        t0 = time.perf_counter()
        got = verisight.search(part, radius)
        t_verisight += time.perf_counter() - t0
        found_verisight.append(triples(got.query_idx + start, got.ids, got.distances))
        t0 = time.perf_counter()
        lims, dist, labels = flat.range_search(part, radius + 1)  # FAISS keeps d < radius
        t_flat += time.perf_counter() - t0
        counts = np.diff(lims).astype(np.int64)
        found_flat.append(triples(np.repeat(np.arange(len(part)) + start, counts), labels, dist))
        done = min(start + batch, nq)
        print(
            f"    {done:,}/{nq:,} queries: verisight {t_verisight:.1f} s, faiss {t_flat:.1f} s, "
            f"~{t_flat / done * (nq - done):.0f} s left",
            flush=True,
        )
    both = (np.concatenate(found_verisight), np.concatenate(found_flat))
    v, f = (x[np.lexsort((x[:, 2], x[:, 1], x[:, 0]))] for x in both)
    return t_verisight, t_flat, v, f


def bench_size(n: int, nq: int, radius: int, seed: int, threads: int) -> dict[str, Any]:
    print(f"\n== {n:,} hashes, {nq:,} queries, radius {radius}, {threads} threads", flush=True)
    t0 = time.perf_counter()
    bank, queries, near_rows, decoy_rows = make_data(n, nq, radius, seed)
    print(f"  data: {time.perf_counter() - t0:.1f} s", flush=True)
    print("  building ...", flush=True)
    verisight_index, verisight = build_verisight(bank, threads)
    flat_index, flat = build_faiss(bank, threads)
    flat["strict"] = faiss_is_strict(flat_index, queries, radius)
    print("  searching, alternating batches ...", flush=True)
    batch = min(500, nq)
    t_verisight, t_flat, found, found_flat = search_both(
        verisight_index, flat_index, queries, radius, batch
    )
    verisight["qps"], flat["qps"] = nq / t_verisight, nq / t_flat
    raw = 32 * n
    identical = bool(np.array_equal(found, found_flat))
    found_rows = {(int(q), int(i)) for q, i, _ in found}
    near_ok = all((q, int(r)) in found_rows for q, r in enumerate(near_rows))
    decoys_out = not any((q, int(r)) in found_rows for q, r in enumerate(decoy_rows))
    ratio = verisight["qps"] / flat["qps"]

    rows = [
        ("faiss IndexBinaryFlat", flat["build_s"], flat["nbytes"], flat["qps"], len(found_flat)),
        (
            "verisight PDQIndex",
            verisight["build_s"],
            verisight["nbytes"],
            verisight["qps"],
            len(found),
        ),
    ]
    print(
        f"\n  {'engine':<24}{'build s':>9}{'memory bytes':>16}{'× raw':>7}{'queries/s':>12}"
        f"{'matches':>10}"
    )
    for name, build, nbytes, qps, count in rows:
        print(
            f"  {name:<24}{build:>9.2f}{nbytes:>16,}{nbytes / raw:>7.2f}{qps:>12,.0f}{count:>10,}"
        )
    print(
        f"  verisight tracemalloc: held {verisight['traced_held']:,} B "
        f"({verisight['traced_held'] / raw:.2f}× raw), build peak {verisight['traced_peak']:,} B "
        f"({verisight['traced_peak'] / raw:.2f}× raw); back end {verisight['backend']}; segments "
        + ", ".join(
            f"{s['rows']:,} rows/{s['chunks']} chunks/{s['key_bits']} bits"
            for s in verisight["segments"]
        )
    )
    print(f"  FAISS range_search strict (<): {flat['strict']} -> called with radius+1")
    print(
        f"  identical result sets: {identical}; planted near-duplicates all found: {near_ok}; "
        f"decoys (>{radius}) all excluded: {decoys_out}"
    )
    print(f"  throughput ratio verisight/faiss: {ratio:.1f}×", flush=True)
    return {
        "size": n,
        "queries": nq,
        "radius": radius,
        "threads": threads,
        "faiss": flat,
        "verisight": verisight,
        "matches": len(found),
        "identical": identical,
        "near_found": near_ok,
        "decoys_excluded": decoys_out,
        "ratio": ratio,
        "memory_x_raw": verisight["nbytes"] / raw,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="1000000,10000000", help="bank sizes, comma-separated")
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--radius", type=int, default=31)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    if args.queries * 2 > min(sizes):
        parser.error("each bank needs at least 2 rows per query for the planted hashes")
    load = os.getloadavg()[0]
    results = [bench_size(n, args.queries, args.radius, args.seed, args.threads) for n in sizes]
    print(
        f"\nsummary ({os.cpu_count()} CPUs; 1-minute load average {load:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end: other work here slows both engines)"
    )
    for r in results:
        print(
            f"  {r['size']:>12,} hashes: verisight {r['verisight']['qps']:>10,.0f} q/s, faiss "
            f"{r['faiss']['qps']:>8,.0f} q/s, ratio {r['ratio']:6.1f}×, memory "
            f"{r['memory_x_raw']:.2f}× raw, identical {r['identical']}"
        )
    if args.json:
        print(json.dumps(results, indent=1))
    ok = all(r["identical"] and r["near_found"] and r["decoys_excluded"] for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Helpers for the matching tests: random hashes, brute force, small bank files.

Every hash here is random or derived from a seed; labels are neutral words.
"""

from __future__ import annotations

import numpy as np
import pytest

from verisight.matching import BankEntry

POP8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)


def random_hex(rng: np.random.Generator, digits: int) -> str:
    return rng.bytes(digits // 2).hex()


def flip(row: np.ndarray, distance: int, rng: np.random.Generator) -> np.ndarray:
    """A copy of one ``(32,)`` hash with exactly ``distance`` distinct bits flipped."""
    out = row.copy()
    for bit in rng.choice(256, size=distance, replace=False):
        out[bit // 8] ^= 1 << (bit % 8)
    return out


def brute_force(
    hashes: np.ndarray, ids: np.ndarray, queries: np.ndarray, radius: int
) -> set[tuple[int, int, int]]:
    """Every ``(query, id, distance)`` within ``radius``, by comparing everything."""
    found: set[tuple[int, int, int]] = set()
    for qi, query in enumerate(queries):
        dist = POP8[hashes ^ query].sum(axis=1)
        for row in np.flatnonzero(dist <= radius):
            found.add((qi, int(ids[row]), int(dist[row])))
    return found


def sample_entries(count: int = 6, seed: int = 7) -> list[BankEntry]:
    """Entries with every field set in some and missing in others."""
    rng = np.random.default_rng(seed)
    entries = []
    for i in range(count):
        entries.append(
            BankEntry(
                md5=random_hex(rng, 32) if i % 3 != 2 else None,
                sha1=random_hex(rng, 40) if i % 2 == 0 else None,
                sha256=random_hex(rng, 64) if i % 3 != 1 else None,
                pdq=random_hex(rng, 64) if i % 2 == 1 or i % 3 == 2 else None,
                pdq_quality=[None, 80, 100][i % 3] if (i % 2 == 1 or i % 3 == 2) else None,
                label=f"sample {i}" if i % 2 == 0 else None,
                category=i % 6 if i % 4 != 3 else None,
                source_id=str(1000 + i) if i != 4 else "case-a/7",
                series=f"series {i % 2}" if i % 3 == 0 else None,
                victim_identified=[None, True, False][i % 3],
                comments='neutral, "quoted" note\nsecond line' if i == 1 else None,
            )
        )
    return entries


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240607)

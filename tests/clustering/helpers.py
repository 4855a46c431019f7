"""Synthetic PDQ hashes for clustering tests (random bits; no images needed)."""

from __future__ import annotations

import hashlib

import numpy as np


def sha(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def random_hash(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 256, 32, dtype=np.uint8)


def flip_bits(h: np.ndarray, bits: list[int]) -> np.ndarray:
    out = h.copy()
    for b in bits:
        out[b // 8] ^= np.uint8(1 << (b % 8))
    return out


def noisy(h: np.ndarray, rng: np.random.Generator, k: int) -> np.ndarray:
    return flip_bits(h, [int(b) for b in rng.choice(256, k, replace=False)])


def hexof(h: np.ndarray) -> str:
    return bytes(h).hex()


def distance(a: str, b: str) -> int:
    return int(bin(int(a, 16) ^ int(b, 16)).count("1"))

"""Matching many videos against a vPDQ bank gives exactly the pairwise vPDQ scores."""

from __future__ import annotations

import numpy as np
import pytest

from verisight.analysis.record import VideoFrame
from verisight.matching import vpdq
from verisight.matching.vpdq import distances, match_videos, score


def _video(
    rng: np.random.Generator, n: int, like: list[VideoFrame] | None = None
) -> list[VideoFrame]:
    """``n`` random frames, or near copies of ``like`` (a few bits flipped per frame);
    every 5th frame has a quality too low for vPDQ matching, every 7th repeats a hash."""
    out = []
    for i in range(n):
        if like is None:
            bits = rng.integers(0, 2, 256, dtype=np.uint8)
        else:
            bits = np.unpackbits(np.frombuffer(bytes.fromhex(like[i % len(like)].pdq), np.uint8))
            bits[rng.choice(256, int(rng.integers(0, 20)), replace=False)] ^= 1
        pdq = np.packbits(bits).tobytes().hex()
        if i % 7 == 6:
            pdq = out[-1].pdq
        out.append(VideoFrame(25 * i, float(i), pdq, 30 if i % 5 == 4 else 90))
    return out


@pytest.fixture(scope="module")
def videos() -> tuple[dict[str, list[VideoFrame]], dict[tuple[int, str], list[VideoFrame]]]:
    rng = np.random.default_rng(8)
    bank = {(1 + i % 2, f"v{i}"): _video(rng, int(rng.integers(1, 40))) for i in range(60)}
    bank[(3, "empty")] = []
    bank[(3, "low")] = [VideoFrame(0, 0.0, "f" * 64, 10)]
    keys = list(bank)
    media = {f"copy{i}": _video(rng, 30, bank[keys[i * 7]]) for i in range(6)}
    media |= {f"other{i}": _video(rng, 20) for i in range(4)}
    media |= {"empty": [], "low": [VideoFrame(0, 0.0, "f" * 64, 10)]}
    return media, bank


@pytest.mark.parametrize(("query", "compared"), [(80.0, 0.0), (0.0, 0.0), (30.0, 20.0)])
@pytest.mark.parametrize("block", [1 << 20, 50])
def test_match_videos_equals_scoring_every_pair(
    videos: tuple[dict[str, list[VideoFrame]], dict[tuple[int, str], list[VideoFrame]]],
    query: float,
    compared: float,
    block: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    media, bank = videos
    monkeypatch.setattr(vpdq, "_BLOCK_PAIRS", block)  # 50: many small blocks
    expected = [
        (sha, key, s)
        for sha, frames in media.items()
        for key, known in bank.items()
        if (s := score(frames, known)).matches(query, compared)
    ]
    got = list(match_videos(media, bank, query_threshold=query, compared_threshold=compared))
    assert got == expected
    if query == 80.0:  # the default: some copies match, unrelated videos do not
        matched = {sha for sha, _, _ in got}
        assert matched & {f"copy{i}" for i in range(6)}
        assert not {s for s in matched if not s.startswith("copy")}


def test_distances_with_and_without_word_popcount(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (70, 32), dtype=np.uint8)
    b = rng.integers(0, 256, (40, 32), dtype=np.uint8)
    b[5] = a[3]
    b[6] = ~a[4]
    fast = distances(a, b)
    monkeypatch.setattr(vpdq, "_BITWISE_COUNT", None)
    slow = distances(a, b)
    assert fast.dtype == slow.dtype == np.uint16 and np.array_equal(fast, slow)
    assert fast[3, 5] == 0 and fast[4, 6] == 256
    assert distances(a[:0], b).shape == (0, 40)

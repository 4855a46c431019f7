"""Near-duplicate video clusters: vPDQ scores between videos, greedy leader clustering.

Videos (media of kind ``video`` with stored frames) are clustered apart from images, with the
same leader method as :mod:`verisight.clustering.near_duplicates` (every member is a neighbour
of its representative; no chaining; incremental; existing clusters never merge).

Neighbours
----------
Each video is reduced to its **good frames** exactly as vPDQ matching does
(:mod:`verisight.matching.vpdq`): frames de-duplicated by exact hash, then those with PDQ quality
below ``min_quality`` dropped. A frame of A *matches* B when some good frame of B is within
``frame_threshold`` (31) of it. ``A%`` is the share of A's good frames that match B and
``B%`` the share of B's that match A (pytx's query and compared percentages, which are each
other's mirror image, so the relation is symmetric).

Two videos are neighbours when ``max(A%, B%) >= percent`` (80) **and**
``min(A%, B%) >= min_percent`` (50): re-encodes and resizes score near 100 both ways; a trim
covers nearly all of itself but only part of the original, so the lower share is what the
trim kept (a clip keeping half of a video or more joins it; a shorter excerpt is left to
``verisight match``). The stored distance is ``ceil(100 - min(A%, B%))`` (0: every good frame
of each matches the other), so the nearest representative is the most complete copy.

Candidate pairs come from radius searches over a :class:`PDQIndex` of every good frame of
the videos concerned (the frames stored by the scan; nothing is decoded again), not from
comparing all pairs of videos: only pairs sharing at least one matching frame are scored,
and the shares are counted from those same search results (identical to vPDQ's brute force).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from verisight.clustering.near_duplicates import (
    DEFAULT_MIN_QUALITY,
    DEFAULT_THRESHOLD,
    LOW_QUALITY,
    ClusterPlan,
    Join,
    Member,
    NearDuplicateCluster,
    Neighbours,
    _search,
    assemble_clusters,
    hashes_from_hex,
    leader_clusters,
)

__all__ = [
    "DEFAULT_VIDEO_MIN_PERCENT",
    "DEFAULT_VIDEO_PERCENT",
    "VPDQ_BASIS",
    "VideoCandidate",
    "VideoPairs",
    "VideoParams",
    "VideoRepresentative",
    "good_frames",
    "plan_video_update",
    "video_pairs",
]

#: The larger of the two shares must reach this (percent).
DEFAULT_VIDEO_PERCENT = 80.0
#: The smaller of the two shares must reach this (percent): what a trim must keep.
DEFAULT_VIDEO_MIN_PERCENT = 50.0
#: ``cluster.basis`` of a near-duplicate cluster of videos.
VPDQ_BASIS = "vpdq"

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class VideoParams:
    """``frame_threshold``: PDQ distance between matching frames (inclusive);
    ``min_quality``: the lowest frame quality that counts; ``percent`` / ``min_percent``:
    what the larger / smaller of the two shares must reach."""

    frame_threshold: int = DEFAULT_THRESHOLD
    min_quality: int = DEFAULT_MIN_QUALITY
    percent: float = DEFAULT_VIDEO_PERCENT
    min_percent: float = DEFAULT_VIDEO_MIN_PERCENT

    def __post_init__(self) -> None:
        if not 0 <= self.frame_threshold <= 128:
            raise ValueError(f"frame threshold must be 0 to 128, got {self.frame_threshold}")
        if not 0 <= self.min_quality <= 100:
            raise ValueError(f"min_quality must be between 0 and 100, got {self.min_quality}")
        if not 0 <= self.min_percent <= self.percent <= 100:
            raise ValueError("need 0 <= min_percent <= percent <= 100")


@dataclass(frozen=True, slots=True)
class VideoCandidate:
    """A video to cluster: its SHA-256 and stored frames as ``(pdq hex, quality)``."""

    sha256: str
    frames: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class VideoRepresentative:
    """An existing video cluster's representative (what new videos may join)."""

    cluster_id: int
    sha256: str
    frames: tuple[tuple[str, int], ...]


@dataclass(frozen=True, eq=False)
class VideoPairs:
    """Every pair of videos ``a < b`` sharing a matching frame, with ``a%`` and ``b%``."""

    a: I64
    b: I64
    a_percent: F64
    b_percent: F64

    def neighbours(self, params: VideoParams) -> npt.NDArray[np.bool_]:
        hi = np.maximum(self.a_percent, self.b_percent)
        lo = np.minimum(self.a_percent, self.b_percent)
        return (hi >= params.percent) & (lo >= params.min_percent)

    def distances(self) -> npt.NDArray[np.int16]:
        lo = np.minimum(self.a_percent, self.b_percent)
        # round away float noise before the ceiling (62.5 % -> 38)
        return np.ceil(np.round(100.0 - lo, 6)).astype(np.int16)


def good_frames(frames: Sequence[tuple[str, int]], min_quality: int) -> list[str]:
    """vPDQ's matching frames: exact duplicates collapsed (first kept), then quality-filtered."""
    seen: set[str] = set()
    out: list[str] = []
    for pdq, quality in frames:
        if pdq in seen:
            continue
        seen.add(pdq)
        if quality >= min_quality:
            out.append(pdq)
    return out


def video_pairs(frame_sets: Sequence[Sequence[str]], frame_threshold: int) -> VideoPairs:
    """Scores of every pair of videos (given by their good frames) with a frame in common."""
    from verisight.matching.pdq_index import PDQIndex

    n = len(frame_sets)
    sizes = np.array([len(f) for f in frame_sets], np.int64)
    empty = VideoPairs(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
    total = int(sizes.sum()) if n else 0
    if total == 0:
        return empty
    owner = np.repeat(np.arange(n, dtype=np.int64), sizes)
    hashes = hashes_from_hex([h for f in frame_sets for h in f])
    rows = np.arange(total, dtype=np.int64)
    index = PDQIndex.build(hashes, rows)
    src, dst, _ = _search(index, hashes, rows, frame_threshold)
    other = owner[dst]
    keep = owner[src] != other
    src, other = src[keep], other[keep]
    if not len(src):
        return empty
    # each frame counts once per other video it matches
    frame_video = np.unique(src * n + other)
    pair = owner[frame_video // n] * n + frame_video % n
    keys, counts = np.unique(pair, return_counts=True)  # sorted: a*n + b -> frames of a in b
    a, b = keys // n, keys % n
    lower = a < b
    a, b, ab = a[lower], b[lower], counts[lower]
    reverse = np.searchsorted(keys, b * n + a)  # distances are symmetric: always present
    ba = counts[reverse]
    return VideoPairs(a, b, 100.0 * ab / sizes[a], 100.0 * ba / sizes[b])


def plan_video_update(
    new: Sequence[VideoCandidate],
    existing: Sequence[VideoRepresentative],
    params: VideoParams = VideoParams(),
) -> ClusterPlan:
    """Where new videos go (pure): each joins its nearest existing representative that is a
    neighbour (ties: the lowest cluster id), or lands in exactly one new cluster; videos
    without a good frame are ``low-quality`` singletons."""
    singletons: list[NearDuplicateCluster] = []
    pool: list[tuple[VideoCandidate, list[str]]] = []
    for c in sorted(new, key=lambda c: c.sha256):
        good = good_frames(c.frames, params.min_quality)
        if good:
            pool.append((c, good))
        else:
            singletons.append(NearDuplicateCluster(c.sha256, (Member(c.sha256, 0),), LOW_QUALITY))
    p = len(pool)
    reps = [(r, good_frames(r.frames, params.min_quality)) for r in existing]
    pairs = video_pairs([g for _, g in pool] + [g for _, g in reps], params.frame_threshold)
    ok = pairs.neighbours(params)
    a, b, dist = pairs.a[ok], pairs.b[ok], pairs.distances()[ok]
    # joins: a < b, so a pool video (a < p) paired with a representative (b >= p)
    to_rep = (a < p) & (b >= p)
    joins: list[Join] = []
    joined: set[int] = set()
    if to_rep.any():
        ja, jd = a[to_rep], dist[to_rep]
        cid = np.array([reps[int(i) - p][0].cluster_id for i in b[to_rep]], np.int64)
        order = np.lexsort((cid, jd, ja))
        for i in order.tolist():
            row = int(ja[i])
            if row not in joined:
                joined.add(row)
                joins.append(Join(int(cid[i]), pool[row][0].sha256, int(jd[i])))
    rest = [i for i in range(p) if i not in joined]
    clusters = _cluster_rest(pool, rest, a, b, dist)
    return ClusterPlan(tuple(joins), tuple(clusters + singletons))


def _cluster_rest(
    pool: list[tuple[VideoCandidate, list[str]]],
    rest: list[int],
    a: I64,
    b: I64,
    dist: npt.NDArray[np.int16],
) -> list[NearDuplicateCluster]:
    if not rest:
        return []
    local = np.full(len(pool) + 1, -1, np.int64)  # the last slot: any representative
    local[rest] = np.arange(len(rest), dtype=np.int64)
    inside = (local[np.minimum(a, len(pool))] >= 0) & (local[np.minimum(b, len(pool))] >= 0)
    la, lb, d = local[a[inside]], local[b[inside]], dist[inside]
    src = np.concatenate([la, lb])
    dst = np.concatenate([lb, la])
    dd = np.concatenate([d, d])
    order = np.lexsort((dst, src))
    src, dst, dd = src[order], dst[order], dd[order]
    n = len(rest)
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    graph = Neighbours(indptr, dst.astype(np.int32), dd)
    quality = np.array([len(pool[i][1]) for i in rest], np.int64)  # longer videos lead
    tiebreak = np.arange(n, dtype=np.int64)  # ``pool`` is sorted by SHA-256
    rep_of, to_rep = leader_clusters(graph, quality, tiebreak)
    return assemble_clusters([pool[i][0].sha256 for i in rest], rep_of, to_rep)

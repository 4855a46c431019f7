"""Near-duplicate clusters from PDQ hashes: greedy leader (star) clustering on the PDQ index.

Method, and why
---------------
Two media are *neighbours* when their PDQ hashes lie within ``threshold`` (default 31, PDQ's
match threshold) of each other. The neighbour graph comes from :class:`PDQIndex` radius
searches, never from comparing all pairs.

Single linkage (connected components of that graph) chains: A ~ B ~ C puts A and C together
even when A and C are far apart, so a decision taken on A would be propagated to a C that is
not the same picture. Verisight uses **greedy leader clustering** instead:

1. order the media by descending neighbour count, then descending PDQ quality, then SHA-256;
2. walk that order; a media not yet covered becomes a **representative** and covers itself
   and all its neighbours;
3. every non-representative joins its **nearest** representative (ties: the earlier one).

So every member lies within ``threshold`` of its cluster's representative: the property that
makes propagating the representative's decision sound. (Two members may be up to
``2 * threshold`` apart; they are never propagated to each other.)

Rotations and flips: where a media's dihedral PDQ variants are known (``Candidate.variants``,
the scan's ``pdq_variants``), two media are also neighbours when a variant of one lies within
the threshold of the other, at the smallest such distance: a mirrored copy is the same picture.

Frames: where the scan found a uniform frame around a media (a screenshot border, letterbox)
and hashed the content inside it (``Candidate.trimmed``, the scan's ``pdq_trimmed``), that
hash stands for the media too: two media are neighbours when any hash of one (original,
trimmed, rotations and flips) is within the threshold of the original or trimmed hash of the
other. Every member is then within the threshold of its representative by at least one such
pair (the stored distance is that pair's; the pair itself is not recorded).

Incremental updates (:func:`plan_update`): new media join the nearest *existing*
representative within the threshold; the rest are clustered among themselves as above.
Existing clusters are never merged and existing members never move.

Hashes below ``min_quality`` (default 50) or missing stay **singletons**, with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:  # imported lazily: the store imports this module, numba is slow to load
    from verisight.matching.pdq_index import PDQIndex

DEFAULT_THRESHOLD = 31
DEFAULT_MIN_QUALITY = 50
#: Singleton reasons.
LOW_QUALITY = "low-quality"
NO_PDQ = "no-pdq"
_QUERY_CHUNK = 65_536

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
U8 = npt.NDArray[np.uint8]
B = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class ClusterParams:
    """``threshold``: PDQ distance to a representative (inclusive); ``min_quality``: the
    lowest PDQ quality that clusters (below it a media stays a singleton)."""

    threshold: int = DEFAULT_THRESHOLD
    min_quality: int = DEFAULT_MIN_QUALITY
    #: Run the crop pass (:mod:`verisight.clustering.crops`) after the PDQ pass.
    crops: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.threshold <= 128:
            raise ValueError(f"threshold must be between 0 and 128, got {self.threshold}")
        if not 0 <= self.min_quality <= 100:
            raise ValueError(f"min_quality must be between 0 and 100, got {self.min_quality}")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A media to cluster: its SHA-256 and PDQ (64 hex digits) with quality, if any."""

    sha256: str
    pdq: str | None
    quality: int | None
    #: PDQ hashes of its rotations and flips (Meta's dihedral variants), if known: a
    #: mirrored or rotated copy is the same picture.
    variants: tuple[str, ...] = ()
    #: PDQ of the content inside a uniform frame (screenshot border, letterbox), if any.
    trimmed: str | None = None
    #: Layout key of its luma grid (:mod:`verisight.analysis.luma`), for the crop pass.
    key: bytes | None = None


@dataclass(frozen=True, slots=True)
class Member:
    sha256: str
    #: PDQ distance to the cluster's representative (0 for the representative itself).
    distance: int
    #: How it matched when not by whole-image PDQ: ``"crop"`` (:mod:`verisight.clustering.crops`).
    match: str | None = None


@dataclass(frozen=True, slots=True)
class NearDuplicateCluster:
    """A representative and its members (the representative first, then by distance)."""

    representative: str
    members: tuple[Member, ...]
    #: ``None`` for a clustered media; ``"low-quality"`` or ``"no-pdq"`` for a singleton
    #: that was not allowed to cluster.
    reason: str | None = None

    @property
    def size(self) -> int:
        return len(self.members)


@dataclass(frozen=True, slots=True)
class Representative:
    """An existing cluster's representative (what new media may join)."""

    cluster_id: int
    sha256: str
    pdq: str
    #: PDQ of the content inside a uniform frame, if any (new media may match it too).
    trimmed: str | None = None
    #: Layout key of its luma grid, for the crop pass.
    key: bytes | None = None


@dataclass(frozen=True, slots=True)
class Join:
    """A new media joining an existing cluster."""

    cluster_id: int
    sha256: str
    distance: int
    #: As :attr:`Member.match`.
    match: str | None = None


@dataclass(frozen=True, slots=True)
class ClusterPlan:
    joins: tuple[Join, ...]
    new_clusters: tuple[NearDuplicateCluster, ...]


@dataclass(frozen=True, eq=False)
class Neighbours:
    """The neighbour graph in CSR form: row ``i``'s neighbours are
    ``indices[indptr[i]:indptr[i+1]]`` at ``distances[...]`` (self excluded)."""

    indptr: I64
    indices: I32
    distances: npt.NDArray[np.int16]

    @property
    def degree(self) -> I64:
        return np.diff(self.indptr)

    def edges(self) -> tuple[I64, I32]:
        """Every directed edge as two aligned arrays ``(source, target)``."""
        src = np.repeat(np.arange(len(self.indptr) - 1, dtype=np.int64), self.degree)
        return src, self.indices


def hashes_from_hex(values: Sequence[str]) -> U8:
    """PDQ hex strings (already validated) as an ``(n, 32) uint8`` array."""
    if not values:
        return np.zeros((0, 32), np.uint8)
    raw = bytes.fromhex("".join(values))
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(values), 32).copy()


def _search(
    index: PDQIndex, queries: U8, rows: I64, threshold: int
) -> tuple[I64, I64, npt.NDArray[np.int16]]:
    """``(row, id, distance)`` triples of a chunked radius search; query ``k`` stands for
    ``rows[k]``."""
    src: list[I64] = []
    dst: list[I64] = []
    dist: list[npt.NDArray[np.int16]] = []
    for start in range(0, int(queries.shape[0]), _QUERY_CHUNK):
        found = index.search(queries[start : start + _QUERY_CHUNK], threshold)
        src.append(rows[found.query_idx + start])
        dst.append(found.ids)
        dist.append(found.distances.astype(np.int16))
    if not src:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int16)
    return np.concatenate(src), np.concatenate(dst), np.concatenate(dist)


def neighbour_graph(
    hashes: U8,
    threshold: int,
    *,
    variants: tuple[I64, U8] | None = None,
    trimmed: tuple[I64, U8] | None = None,
    index: PDQIndex | None = None,
) -> Neighbours:
    """Every pair within ``threshold``, by radius searches on a :class:`PDQIndex`.

    ``variants`` = ``(rows, hashes)``: more hashes standing for ``rows`` (the rotations and
    flips of those media); two media are then neighbours when any variant of one is within
    the threshold of the other, at the smallest such distance. ``trimmed`` = ``(rows,
    hashes)``: the hashes of those media's content inside a uniform frame, searched *and*
    searched for: any hash of one within the threshold of the original or trimmed hash of
    the other makes two media neighbours. ``index`` (over ``hashes``) is never modified.
    """
    from verisight.matching.pdq_index import PDQIndex

    n = int(hashes.shape[0])
    if index is None:
        index = PDQIndex.build(hashes, np.arange(n, dtype=np.int64))
    rows = np.arange(n, dtype=np.int64)
    src, dst, dist = _search(index, hashes, rows, threshold)
    extra = [q for q in (variants, trimmed) if q is not None and len(q[0])]
    if extra:
        found = [_search(index, q[1], q[0], threshold) for q in extra]
        if trimmed is not None and len(trimmed[0]):
            inner = PDQIndex.build(trimmed[1], trimmed[0])
            found += [_search(inner, q[1], q[0], threshold) for q in [(rows, hashes), *extra]]
        vs = np.concatenate([f[0] for f in found])
        vd = np.concatenate([f[1] for f in found])
        vdist = np.concatenate([f[2] for f in found])
        # symmetric: a hash of i near j makes j a neighbour of i and i of j
        src = np.concatenate([src, vs, vd])
        dst = np.concatenate([dst, vd, vs])
        dist = np.concatenate([dist, vdist, vdist])
        order = np.lexsort((dist, dst, src))
        src, dst, dist = src[order], dst[order], dist[order]
        first = np.ones(len(src), np.bool_)
        first[1:] = (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])
        src, dst, dist = src[first], dst[first], dist[first]
    keep = src != dst
    src, dst, dist = src[keep], dst[keep], dist[keep]
    order = np.argsort(src, kind="stable")  # search results are by query already
    src, dst, dist = src[order], dst[order], dist[order]
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    return Neighbours(indptr, dst.astype(np.int32), dist)


def leader_clusters(
    graph: Neighbours, quality: npt.ArrayLike, tiebreak: npt.ArrayLike
) -> tuple[I64, npt.NDArray[np.int16]]:
    """Greedy leader clustering of a neighbour graph.

    ``quality`` (higher first) and ``tiebreak`` (lower first, e.g. the rank of each SHA-256)
    order candidates of equal neighbour count. Returns, per row, the row index of its
    representative (itself for a representative) and the distance to it.
    """
    n = len(graph.indptr) - 1
    q = np.asarray(quality, dtype=np.int64)
    t = np.asarray(tiebreak, dtype=np.int64)
    order = np.lexsort((t, -q, -graph.degree))
    covered = np.zeros(n, np.bool_)
    is_rep = np.zeros(n, np.bool_)
    position = np.empty(n, np.int64)  # the greedy position of each representative
    indptr, indices = graph.indptr, graph.indices
    for pos, i in enumerate(order.tolist()):
        if covered[i]:
            continue
        is_rep[i] = True
        covered[i] = True
        position[i] = pos
        covered[indices[indptr[i] : indptr[i + 1]]] = True
    rep_of = np.arange(n, dtype=np.int64)
    dist_to = np.zeros(n, np.int16)
    src, dst = graph.edges()
    cand = ~is_rep[src] & is_rep[dst]
    s, d, dd = src[cand], dst[cand].astype(np.int64), graph.distances[cand]
    if len(s):
        best = np.lexsort((position[d], dd, s))
        s, d, dd = s[best], d[best], dd[best]
        first = np.ones(len(s), np.bool_)
        first[1:] = s[1:] != s[:-1]
        rep_of[s[first]] = d[first]
        dist_to[s[first]] = dd[first]
    return rep_of, dist_to


def connected_components(graph: Neighbours) -> I64:
    """Single-linkage labels (the smallest row index of each component), for comparison."""
    n = len(graph.indptr) - 1
    labels = np.arange(n, dtype=np.int64)
    src, dst = graph.edges()
    while True:
        before = labels.copy()
        np.minimum.at(labels, src, labels[dst])
        labels = labels[labels]  # pointer jumping
        if np.array_equal(labels, before):
            return labels


def nearest_representative(
    representatives: Sequence[Representative],
    hashes: U8,
    threshold: int,
    *,
    variants: tuple[I64, U8] | None = None,
    trimmed: tuple[I64, U8] | None = None,
) -> tuple[I64, npt.NDArray[np.int16]]:
    """For each hash, the cluster id of the nearest representative within ``threshold``
    (``-1`` if none; ties: the lowest cluster id) and the distance to it. ``variants`` and
    ``trimmed`` as in :func:`neighbour_graph`: any hash of a media may match the original or
    the trimmed hash of a representative."""
    from verisight.matching.pdq_index import PDQIndex

    n = int(hashes.shape[0])
    cluster = np.full(n, -1, np.int64)
    dist = np.zeros(n, np.int16)
    if not representatives or n == 0:
        return cluster, dist
    targets = [(r.cluster_id, r.pdq) for r in representatives]
    targets += [(r.cluster_id, r.trimmed) for r in representatives if r.trimmed is not None]
    rep_hashes = hashes_from_hex([h for _, h in targets])
    index = PDQIndex.build(rep_hashes, np.array([c for c, _ in targets], np.int64))
    src, ids, d = _search(index, hashes, np.arange(n, dtype=np.int64), threshold)
    for extra in (variants, trimmed):
        if extra is not None and len(extra[0]):
            vs, vids, vd = _search(index, extra[1], extra[0], threshold)
            src, ids, d = (
                np.concatenate([src, vs]),
                np.concatenate([ids, vids]),
                np.concatenate([d, vd]),
            )
    if len(src):
        order = np.lexsort((ids, d, src))
        src, ids, d = src[order], ids[order], d[order]
        first = np.ones(len(src), np.bool_)
        first[1:] = src[1:] != src[:-1]
        cluster[src[first]] = ids[first]
        dist[src[first]] = d[first]
    return cluster, dist


def _variant_queries(pool: Sequence[Candidate]) -> tuple[I64, U8] | None:
    rows = [i for i, c in enumerate(pool) for _ in c.variants]
    if not rows:
        return None
    return np.array(rows, np.int64), hashes_from_hex([v for c in pool for v in c.variants])


def _trimmed_queries(pool: Sequence[Candidate]) -> tuple[I64, U8] | None:
    rows = [i for i, c in enumerate(pool) if c.trimmed is not None]
    if not rows:
        return None
    return np.array(rows, np.int64), hashes_from_hex([pool[i].trimmed or "" for i in rows])


def _eligible(c: Candidate, params: ClusterParams) -> str | None:
    """``None`` when ``c`` may cluster, else the singleton reason."""
    if c.pdq is None:
        return NO_PDQ
    if c.quality is None or c.quality < params.min_quality:
        return LOW_QUALITY
    return None


def cluster_candidates(
    candidates: Sequence[Candidate], params: ClusterParams = ClusterParams()
) -> list[NearDuplicateCluster]:
    """Cluster media from scratch; every candidate ends in exactly one cluster."""
    return list(plan_update(candidates, [], params).new_clusters)


def plan_update(
    new: Sequence[Candidate],
    existing: Sequence[Representative],
    params: ClusterParams = ClusterParams(),
) -> ClusterPlan:
    """Where new media go: joins to existing clusters, and new clusters (pure).

    Existing clusters are never merged; each new media joins at most one of them (its
    nearest representative within the threshold) or lands in exactly one new cluster.
    """
    singletons: list[NearDuplicateCluster] = []
    pool: list[Candidate] = []
    for c in sorted(new, key=lambda c: c.sha256):
        reason = _eligible(c, params)
        if reason is None:
            pool.append(c)
        else:
            singletons.append(NearDuplicateCluster(c.sha256, (Member(c.sha256, 0),), reason))
    hashes = hashes_from_hex([c.pdq for c in pool if c.pdq is not None])
    joined_to, joined_dist = nearest_representative(
        existing,
        hashes,
        params.threshold,
        variants=_variant_queries(pool),
        trimmed=_trimmed_queries(pool),
    )
    joins = tuple(
        Join(int(cid), pool[i].sha256, int(joined_dist[i]))
        for i, cid in enumerate(joined_to.tolist())
        if cid >= 0
    )
    rest = np.flatnonzero(joined_to < 0)
    clusters = _cluster_rows([pool[i] for i in rest.tolist()], hashes[rest], params.threshold)
    return ClusterPlan(joins, tuple(clusters + singletons))


def _cluster_rows(pool: list[Candidate], hashes: U8, threshold: int) -> list[NearDuplicateCluster]:
    if not pool:
        return []
    graph = neighbour_graph(
        hashes, threshold, variants=_variant_queries(pool), trimmed=_trimmed_queries(pool)
    )
    quality = np.array([c.quality or 0 for c in pool], np.int64)
    tiebreak = np.arange(len(pool), dtype=np.int64)  # ``pool`` is sorted by SHA-256
    rep_of, dist = leader_clusters(graph, quality, tiebreak)
    return assemble_clusters([c.sha256 for c in pool], rep_of, dist)


def assemble_clusters(
    shas: Sequence[str], rep_of: I64, dist: npt.NDArray[np.int16]
) -> list[NearDuplicateCluster]:
    """Clusters from :func:`leader_clusters`' output over rows sorted by SHA-256 (the
    representative first, then by distance and SHA-256)."""
    tiebreak = np.arange(len(shas), dtype=np.int64)
    not_rep = rep_of != tiebreak
    order = np.lexsort((tiebreak, dist, not_rep, rep_of))  # the representative first
    clusters: list[NearDuplicateCluster] = []
    members: list[Member] = []
    current = -1
    for row in order.tolist():
        rep = int(rep_of[row])
        if rep != current and members:
            clusters.append(NearDuplicateCluster(shas[current], tuple(members)))
            members = []
        current = rep
        members.append(Member(shas[row], int(dist[row])))
    clusters.append(NearDuplicateCluster(shas[current], tuple(members)))
    return clusters

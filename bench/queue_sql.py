"""The analysts' queue at scale: decisions left, counted and ordered by the database.

Seeds a case with ``--media`` synthetic media rows (no images: the queue reads only rows) on
SQLite and on PostgreSQL: images and videos with every provenance verdict, some with a
conflict flag, some failed and some containers (never in the queue), one sighting each
(random paths, so first-seen order is not SHA-256 order), ``--clustered`` of them in
near-duplicate clusters of 2–6, 5 % on a bank, 20 % decided (some representatives, some
members). Then times what the web app does on every queue page and dashboard:

* ``count``: the decisions left (:meth:`verisight.store.queue.QueueStore.count`);
* ``page``: the first 50 rows in triage order (clusters as one row, variants aside);
* ``next``: ``/next`` (the first row);
* ``tiers``: the dashboard's decisions made and left per tier;

against the anchor, ``fetch``: reading the SHA-256 of every undecided media into Python,
the least that any ordering done outside the database must pay (the old queue read 5,000 of
them, with their facts, and so was wrong past 5,000). Checks the count against the seeded
truth.

Run: ``.venv/bin/python bench/queue_sql.py --media 100000`` (``--stores sqlite`` to skip
PostgreSQL; ``VERISIGHT_TEST_POSTGRES_URL`` names the server).
``tests/test_queue_sql.py`` uses :func:`seed` for its own, smaller cases.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from verisight.assessment import AssessmentService, QueueFilter
from verisight.case import Case
from verisight.clustering import ClusterPlan, Member, NearDuplicateCluster
from verisight.store.clusters import ClusterStore
from verisight.store.db import scratch_schema
from verisight.store.schema import (
    Assessment,
    Bank,
    BankEntryRow,
    Match,
    Media,
    Scan,
    Sighting,
)
from verisight.store.users import Users
from verisight.vocab import Verdict

POSTGRES_URL = os.environ.get(
    "VERISIGHT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
VERDICTS: tuple[str | None, ...] = (*Verdict, None)


@dataclass
class Seeded:
    """What was seeded, for checking the queue against it."""

    #: sha256 → (kind, provenance, conflict, failed)
    media: dict[str, tuple[str, str | None, bool, bool]] = field(default_factory=dict)
    #: sha256 → its smallest sighting path
    first_seen: dict[str, str] = field(default_factory=dict)
    #: member sha256 → (representative, cluster size)
    cluster_of: dict[str, tuple[str, int]] = field(default_factory=dict)
    matched: set[str] = field(default_factory=set)
    decided: set[str] = field(default_factory=set)

    def assessable(self, sha: str) -> bool:
        kind, _, _, failed = self.media[sha]
        return kind in ("image", "video") and not failed

    def decisions_left(self) -> int:
        """One per cluster with a waiting member, one per other waiting media."""
        keys = {
            self.cluster_of.get(s, (s, 1))[0]
            for s in self.media
            if self.assessable(s) and s not in self.decided
        }
        return len(keys)


def _sha(i: int, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{i}".encode()).hexdigest()


def seed(case: Case, n: int, *, clustered: float = 0.3, rng_seed: int = 7) -> Seeded:
    """``n`` synthetic media rows with sightings, clusters, bank matches and decisions."""
    rng = random.Random(rng_seed)
    now = datetime.now(UTC)
    engine = case.store.engine
    out = Seeded()
    salt = uuid.uuid4().hex[:8]
    with engine.begin() as conn:
        scan_id = conn.execute(
            sa.insert(Scan.__table__).values(
                roots=json.dumps([f"/seized-{salt}"]), started_at=now, status="finished"
            )
        ).inserted_primary_key[0]
    media, sightings = [], []
    for i in range(n):
        sha = _sha(i, salt)
        kind = rng.choices(("image", "video", "archive", "web-capture"), (90, 5, 3, 2))[0]
        prov = rng.choice(VERDICTS)
        conflict = rng.random() < 0.08
        failed = rng.random() < 0.02
        out.media[sha] = (kind, prov, conflict, failed)
        media.append({
            "sha256": sha, "md5": sha[:32], "sha1": sha[:40], "size": 1000 + i,
            "mime": "image/jpeg", "kind": kind, "format": "JPEG", "width": 640, "height": 480,
            "provenance": prov, "provenance_conflict": conflict,
            "error_reason": "truncated" if failed else None, "has_thumbnail": False,
        })  # fmt: skip
        path = f"/seized/{rng.randrange(10**9):09d}/{i}.jpg"
        out.first_seen[sha] = path
        sightings.append({
            "key": _sha(i, salt + "s"), "locator": path, "path": path, "chain": "[]",
            "media_sha256": sha, "status": "ok", "depth": 0, "is_container": False,
            "scan_id": scan_id,
        })  # fmt: skip
    shas = [s for s in out.media if out.assessable(s)]
    rng.shuffle(shas)
    with engine.begin() as conn:
        for table, rows in ((Media, media), (Sighting, sightings)):
            for start in range(0, len(rows), 5000):
                conn.execute(sa.insert(table.__table__), rows[start : start + 5000])
    # near-duplicate clusters of 2–6 among the analysable media
    clusters, at = [], 0
    grouped = int(len(shas) * clustered)
    while at < grouped - 1:
        size = min(rng.randint(2, 6), grouped - at)
        group = shas[at : at + size]
        at += size
        rep = group[0]
        clusters.append(
            NearDuplicateCluster(rep, (Member(rep, 0), *(Member(s, rng.randint(1, 31))
                                                       for s in group[1:])))
        )  # fmt: skip
        for s in group:
            out.cluster_of[s] = (rep, size)
    ClusterStore(engine).apply_plan(ClusterPlan((), tuple(clusters)), 31)
    # bank matches, decisions
    out.matched = {s for s in shas if rng.random() < 0.05}
    out.decided = {s for s in shas if rng.random() < 0.2}
    users = Users(engine)
    user = users.by_name("seed-analyst") or users.add("seed-analyst", "analyst", "not-a-hash")
    with engine.begin() as conn:
        bid = conn.execute(
            sa.insert(Bank.__table__).values(name=f"seed-{salt}", kind="match", created_at=now)
        ).inserted_primary_key[0]
        entries = [{"bank_id": bid, "key": _sha(i, salt + "e"), "sha256": s, "category": 1 + i % 3}
                   for i, s in enumerate(sorted(out.matched))]  # fmt: skip
        if entries:
            conn.execute(sa.insert(BankEntryRow.__table__), entries)
        ids = dict(
            conn.execute(
                sa.select(BankEntryRow.__table__.c.sha256, BankEntryRow.__table__.c.id).where(
                    BankEntryRow.__table__.c.bank_id == bid
                )
            ).all()
        )
        matches = [{"key": _sha(i, salt + "m"), "media_sha256": s, "bank_id": bid,
                    "entry_id": ids[s], "hash_type": "sha256", "distance": 0, "matched_at": now}
                   for i, s in enumerate(sorted(out.matched))]  # fmt: skip
        decisions = [{"media_sha256": s, "outcome": "not-illegal", "origin": "unknown",
                      "age_band": "unknown", "sex": "unknown", "analyst_id": user.id,
                      "version": 1, "status": "final", "created_at": now, "updated_at": now}
                     for s in sorted(out.decided)]  # fmt: skip
        for table, rows in ((Match, matches), (Assessment, decisions)):
            for start in range(0, len(rows), 5000):
                conn.execute(sa.insert(table.__table__), rows[start : start + 5000])
    return out


def _best(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


@contextmanager
def _database(store: str) -> Iterator[str]:
    if store == "sqlite":
        with tempfile.TemporaryDirectory(prefix="verisight-queue-") as d:
            yield f"sqlite:///{Path(d) / 'case.db'}"
        return
    with scratch_schema(POSTGRES_URL, "bench_queue") as url:
        yield url


def run(store: str, n: int, runs: int) -> dict[str, Any]:
    with _database(store) as url, tempfile.TemporaryDirectory() as d:
        case = Case(Path(d) / "case", url, create=True)
        t = time.perf_counter()
        truth = seed(case, n)
        seeded_s = time.perf_counter() - t
        if store == "postgresql":
            with case.store.engine.begin() as conn:
                conn.execute(sa.text("ANALYZE"))
        service = AssessmentService(case)
        user = Users(case.store.engine).by_name("seed-analyst")
        assert user is not None
        undecided = sa.text(
            "SELECT sha256 FROM media WHERE NOT EXISTS "
            "(SELECT 1 FROM assessment a WHERE a.media_sha256 = media.sha256)"
        )

        def fetch() -> int:
            with case.store.engine.connect() as conn:
                return len(conn.execute(undecided).all())

        from verisight.assessment.dashboard import triage_progress

        fetch_s, _ = _best(fetch, runs)
        count_s, total = _best(lambda: service.queued.count(), runs)
        page_s, view = _best(lambda: service.queue(user, QueueFilter()), runs)
        next_s, _ = _best(lambda: service.next_item(user, QueueFilter()), runs)
        tiers_s, _ = _best(lambda: triage_progress(service), runs)
        case.store.engine.dispose()
        expected = truth.decisions_left()
        return {
            "store": store, "media": n, "seed_s": round(seeded_s, 1),
            "decisions_left": total, "expected": expected, "count_ok": total == expected,
            "page_total_ok": view.total == expected,
            "fetch_ms": round(fetch_s * 1000, 1), "count_ms": round(count_s * 1000, 1),
            "page_ms": round(page_s * 1000, 1), "next_ms": round(next_s * 1000, 1),
            "tiers_ms": round(tiers_s * 1000, 1),
            "page_vs_fetch": round(page_s / fetch_s, 2),
        }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--media", type=int, default=100_000)
    ap.add_argument("--stores", default="sqlite,postgresql")
    ap.add_argument("--runs", type=int, default=3, help="best of this many timings")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    results = [run(s, args.media, args.runs) for s in args.stores.split(",") if s]
    for r in results:
        print(
            f"{r['store']:<10} {r['media']:>9,} media  decisions left {r['decisions_left']:,} "
            f"(expected {r['expected']:,}: {'ok' if r['count_ok'] else 'WRONG'})  "
            f"count {r['count_ms']} ms  page {r['page_ms']} ms  next {r['next_ms']} ms  "
            f"tiers {r['tiers_ms']} ms  | anchor fetch {r['fetch_ms']} ms  "
            f"page/fetch {r['page_vs_fetch']}×"
        )
    if args.json:
        print(json.dumps(results))
    if not all(r["count_ok"] and r["page_total_ok"] for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()

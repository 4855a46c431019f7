"""The assessment queue in SQL: the decisions left, counted, ranked and paged by the database.

A **decision** is one row of the queue: a media without an assessment that is in no
near-duplicate cluster, or a whole cluster, keyed by its representative, with at least one
member still without a decision. A cluster whose representative is decided but whose waiting
members are not is one row too ("awaiting apply": what is left is applying the decision).

The order is data, not rules: the caller passes a **rank table** that maps what the database
knows of a row (its head's provenance verdict, its conflict flag, whether any waiting member is
on a bank) to a rank. The assessment layer builds it from the org's triage policy
(:mod:`verisight.clustering.triage`) or from the review priorities; this module never names a
tier. Two orders use the ranks:

* ``"triage"``: awaiting-apply rows last, then rank, then cluster size (largest first unless
  ``largest_first`` is false), then the representative's SHA-256;
* ``"priority"``: rank, then the first place the media was seen (smallest path), then SHA-256.

Counting, ranking and paging happen in one statement each, over every undecided media: no
window of candidates is loaded into Python, so the count and ``/next`` stay right however large
the case (``bench/decisions.py`` measures it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    Subquery,
    Table,
    and_,
    case,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    text,
)

from verisight.store.assessments import ASSESSABLE_KINDS
from verisight.store.clusters import _CLUSTER, _MEMBER, NEAR_DUPLICATE
from verisight.store.db import Bindable
from verisight.store.schema import Assessment, Bank, BankEntryRow, Match, Media, Sighting

_MEDIA: Table = Media.__table__  # type: ignore[assignment]
_SIGHTING: Table = Sighting.__table__  # type: ignore[assignment]
_ASSESSMENT: Table = Assessment.__table__  # type: ignore[assignment]
_MATCH: Table = Match.__table__  # type: ignore[assignment]
_ENTRY: Table = BankEntryRow.__table__  # type: ignore[assignment]
_BANK: Table = Bank.__table__  # type: ignore[assignment]

#: (provenance verdict, or None for any verdict not listed; conflict; on a bank) → rank.
RankTable = Mapping[tuple[str | None, bool, bool], int]
Order = Literal["triage", "priority"]


@dataclass(frozen=True, slots=True)
class QueueFilters:
    """What the analyst narrowed the queue to (each applies to the waiting media)."""

    #: A provenance verdict, or "none" (no verdict or "none").
    provenance: str | None = None
    #: "matched", "unmatched" or a bank's name.
    bank: str | None = None
    #: A substring of a place the media was seen (path or URL).
    source: str | None = None


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """One decision left."""

    #: What the row opens: the cluster's representative, or the media itself.
    sha256: str
    kind: str
    rank: int
    #: The head's (representative's) provenance verdict and conflict flag.
    provenance: str | None
    provenance_conflict: bool
    #: Some waiting member is on a bank.
    matched: bool
    cluster_id: int | None
    #: Members of the cluster (1 for a media in no cluster).
    size: int
    #: Members still without a decision (the representative included).
    undecided: int
    #: The representative is decided; what is left is applying it.
    awaiting_apply: bool
    #: Highest bank category of the head's matches, and the first place it was seen.
    bank_category: int | None = None
    first_seen: str = ""


class QueueStore(Bindable):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A read; on PostgreSQL without JIT compilation. The planner cannot estimate groups
        keyed by representative and guesses millions of rows, which would make it JIT-compile
        queries that run in tens of milliseconds, for half a second (measured at 20,000
        media with ``bench/queue_sql.py``)."""
        with super()._reading() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SET LOCAL jit = off"))
            yield conn

    # ------------------------------------------------------------------ reads

    def page(
        self,
        ranks: RankTable,
        filters: QueueFilters = QueueFilters(),
        *,
        order: Order = "triage",
        largest_first: bool = True,
        limit: int | None = 50,
        offset: int = 0,
    ) -> tuple[list[DecisionRow], int]:
        """The decisions left, in ``order``, ``limit`` of them from ``offset``, and how many
        are left in all, in one statement (a window count over every row, before the limit)."""
        rows_q = self._rows(ranks, filters)
        r = rows_q.subquery("row")
        q = select(r, func.count().over().label("total"))
        if order == "triage":
            size = r.c.size.desc() if largest_first else r.c.size.asc()
            q = q.order_by(r.c.awaiting, r.c.rank, size, r.c.sha256)
        else:
            first = (  # a join: a correlated subquery per row would cost more to plan and run
                select(_SIGHTING.c.media_sha256, func.min(_SIGHTING.c.path).label("path"))
                .group_by(_SIGHTING.c.media_sha256)
                .subquery("first")
            )
            q = q.outerjoin(first, first.c.media_sha256 == r.c.sha256).order_by(
                r.c.rank, func.coalesce(first.c.path, ""), r.c.sha256
            )
        q = q.offset(offset)
        if limit is not None:
            q = q.limit(limit)
        with self._reading() as conn:
            found = conn.execute(q).all()
            details = self._details(conn, [row.sha256 for row in found])
        # no row: nothing left, or past the last page (then count apart)
        total = int(found[0].total) if found else (self.count(filters) if offset else 0)
        rows = [
            DecisionRow(row.sha256, row.kind, int(row.rank), row.provenance,
                        bool(row.conflict), bool(row.matched), row.cluster_id,
                        int(row.size), int(row.undecided), bool(row.awaiting),
                        *details.get(row.sha256, (None, "")))
            for row in found
        ]  # fmt: skip
        return rows, total

    def count(self, filters: QueueFilters = QueueFilters()) -> int:
        """How many decisions are left (one per cluster with waiting members, one per other
        waiting media)."""
        g = self._groups(self._waiting(filters))
        with self._reading() as conn:
            return int(conn.execute(select(func.count()).select_from(g)).scalar_one())

    def rank_counts(
        self, ranks: RankTable, filters: QueueFilters = QueueFilters(), *, decided: bool = False
    ) -> dict[int, int]:
        """Decisions left per rank; ``decided``: decided media per rank, each media on its
        own (clusters play no part in what was decided). Both narrowed by ``filters``."""
        if decided:
            m = self._media_rows(filters, decided=True).subquery("m")
            rank = _rank(ranks, m.c.provenance, m.c.conflict, m.c.matched)
            q: Select[Any] = select(rank.label("rank"), func.count()).group_by(rank)
        else:
            r = self._rows(ranks, filters).subquery("row")
            q = select(r.c.rank, func.count()).group_by(r.c.rank)
        with self._reading() as conn:
            return {int(k): int(n) for k, n in conn.execute(q)}

    # ------------------------------------------------------------------ SQL

    @staticmethod
    def _media_rows(
        filters: QueueFilters = QueueFilters(), *, decided: bool = False
    ) -> Select[Any]:
        """Analysable media (not containers, not failed), undecided (``decided``: decided),
        narrowed by ``filters``, with their near-duplicate cluster and representative."""
        m = _MEDIA
        on_bank = exists().where(_MATCH.c.media_sha256 == m.c.sha256)
        # a join, not a correlated EXISTS in the select list: PostgreSQL would copy such a
        # subquery into every branch of the rank's CASE
        banked = select(_MATCH.c.media_sha256).distinct().subquery("banked")
        sizes = (
            select(_MEMBER.c.cluster_id, func.count().label("n"))
            .where(_MEMBER.c.kind == NEAR_DUPLICATE)
            .group_by(_MEMBER.c.cluster_id)
            .subquery("sizes")
        )
        has_decision = exists().where(_ASSESSMENT.c.media_sha256 == m.c.sha256)
        q: Select[Any] = (
            select(
                m.c.sha256,
                func.coalesce(_CLUSTER.c.representative_sha256, m.c.sha256).label("grp"),
                _MEMBER.c.cluster_id,
                func.coalesce(sizes.c.n, 1).label("size"),
                m.c.provenance,
                func.coalesce(m.c.provenance_conflict, false()).label("conflict"),
                case((banked.c.media_sha256.is_(None), 0), else_=1).label("matched"),
            )
            .select_from(
                m.outerjoin(
                    _MEMBER,
                    and_(_MEMBER.c.media_sha256 == m.c.sha256, _MEMBER.c.kind == NEAR_DUPLICATE),
                )
                .outerjoin(_CLUSTER, _CLUSTER.c.id == _MEMBER.c.cluster_id)
                .outerjoin(sizes, sizes.c.cluster_id == _MEMBER.c.cluster_id)
                .outerjoin(banked, banked.c.media_sha256 == m.c.sha256)
            )
            .where(
                m.c.error_reason.is_(None),
                m.c.kind.in_(ASSESSABLE_KINDS),  # archives and captures are containers
                has_decision if decided else ~has_decision,
            )
        )
        if filters.provenance == "none":
            q = q.where(or_(m.c.provenance.is_(None), m.c.provenance == "none"))
        elif filters.provenance:
            q = q.where(m.c.provenance == filters.provenance)
        if filters.bank == "matched":
            q = q.where(on_bank)
        elif filters.bank == "unmatched":
            q = q.where(~on_bank)
        elif filters.bank:
            q = q.where(
                exists()
                .where(_MATCH.c.media_sha256 == m.c.sha256)
                .where(_MATCH.c.bank_id == _BANK.c.id, _BANK.c.name == filters.bank)
            )
        if filters.source:
            q = q.where(  # a plain substring: autoescape makes % and _ match themselves
                exists().where(
                    _SIGHTING.c.media_sha256 == m.c.sha256,
                    or_(
                        _SIGHTING.c.path.contains(filters.source, autoescape=True),
                        _SIGHTING.c.url.contains(filters.source, autoescape=True),
                    ),
                )
            )
        return q

    def _waiting(self, filters: QueueFilters) -> Subquery:
        return self._media_rows(filters).subquery("waiting")

    @staticmethod
    def _groups(w: Subquery) -> Subquery:
        """One row per decision: the waiting media grouped by representative."""
        return (
            select(
                w.c.grp,
                func.count().label("undecided"),
                func.max(w.c.matched).label("matched"),
                func.max(w.c.cluster_id).label("cluster_id"),
                func.max(w.c.size).label("size"),
            )
            .group_by(w.c.grp)
            .subquery("grp")
        )

    def _rows(self, ranks: RankTable, filters: QueueFilters) -> Select[Any]:
        """Each decision with its rank, size and whether it awaits applying; the head is the
        representative (its own provenance and conflict flag, whether or not it waits)."""
        g = self._groups(self._waiting(filters))
        head = _MEDIA.alias("head")
        conflict = func.coalesce(head.c.provenance_conflict, false())
        # joins rather than correlated subqueries, and the cluster's size joined per media
        # (where the estimate is good): PostgreSQL cannot estimate groups keyed by
        # representative and chose a nested loop over the sizes (13 s at 100,000 media)
        decided = _ASSESSMENT.alias("decided")
        return select(
            g.c.grp.label("sha256"),
            head.c.kind,
            _rank(ranks, head.c.provenance, conflict, g.c.matched).label("rank"),
            head.c.provenance,
            conflict.label("conflict"),
            g.c.matched,
            g.c.cluster_id,
            g.c.size,
            g.c.undecided,
            case((decided.c.id.is_(None), 0), else_=1).label("awaiting"),
        ).select_from(
            g.join(head, head.c.sha256 == g.c.grp).outerjoin(
                decided, decided.c.media_sha256 == g.c.grp
            )
        )

    @staticmethod
    def _details(conn: Any, shas: list[str]) -> dict[str, tuple[int | None, str]]:
        """(highest bank category, first place seen) of a page's rows."""
        if not shas:
            return {}
        cat = (
            select(_MATCH.c.media_sha256, func.max(_ENTRY.c.category))
            .join(_ENTRY, _ENTRY.c.id == _MATCH.c.entry_id)
            .where(_MATCH.c.media_sha256.in_(shas))
            .group_by(_MATCH.c.media_sha256)
        )
        seen = (
            select(_SIGHTING.c.media_sha256, func.min(_SIGHTING.c.path))
            .where(_SIGHTING.c.media_sha256.in_(shas))
            .group_by(_SIGHTING.c.media_sha256)
        )
        cats = {s: (int(c) if c is not None else None) for s, c in conn.execute(cat)}
        firsts = {s: p or "" for s, p in conn.execute(seen)}
        return {s: (cats.get(s), firsts.get(s, "")) for s in shas}


def _rank(
    ranks: RankTable,
    provenance: ColumnElement[Any],
    conflict: ColumnElement[Any],
    matched: ColumnElement[Any],
) -> ColumnElement[Any]:
    """The rank table as one ``CASE``: listed verdicts first, then the entries for any other
    verdict (key None), which also cover no verdict at all."""
    if not ranks:
        raise ValueError("an empty rank table")

    def facts(c: bool, m: bool) -> ColumnElement[bool]:
        return and_(conflict if c else not_(conflict), matched == (1 if m else 0))

    listed = [((p, c, m), r) for (p, c, m), r in ranks.items() if p is not None]
    others = [((c, m), r) for (p, c, m), r in ranks.items() if p is None]
    whens: list[tuple[ColumnElement[bool], int]] = [
        (and_(provenance == p, facts(c, m)), r) for (p, c, m), r in listed
    ]
    whens += [(facts(c, m), r) for (c, m), r in others]
    return case(*whens, else_=max(ranks.values()) + 1)

"""Endpoints beyond HMA (HMA clients never call them): batch look-ups and metrics.

``POST /m/lookup/batch`` takes ``{"signal_type": "pdq", "signals": [...]}`` (at most 10,000)
and answers one result per signal, in order. Each result carries the query hash and, for each
match, the entry's metadata (label, category, VICS MediaID as ``source_id``, series, bank kind),
the variant that matched and the threshold applied. Per-bank thresholds and negative banks
apply exactly as in ``verisight match``. A PDQ signal may be a list of its 8 dihedral variants
in Meta's order (``verisight media show`` prints them); ``rotations=true`` searches them all.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from verisight.curation import SignalMatch
from verisight.hashing import BadSignal

from .deps import ApiError, CurationDep, IndexDep, Lookup, cached_rules
from .metrics import ApiMetrics, count_matches
from .schemas import BatchMatch, BatchRequest, BatchResponse, BatchResult

router = APIRouter()


def _match_json(m: SignalMatch) -> BatchMatch:
    r = m.content.row
    return BatchMatch(
        bank=m.content.bank, bank_kind=m.content.bank_kind, bank_content_id=m.content.id,
        distance=str(m.distance), threshold=m.threshold, variant=m.variant, label=r.label,
        category=r.category, source_id=r.source_id, series=r.series,
        victim_identified=r.victim_identified,
    )  # fmt: skip


@router.post("/m/lookup/batch", tags=["Extensions"], summary="Look many hashes up at once")
async def lookup_batch(
    request: Request, body: BatchRequest, _who: Lookup, curation: CurationDep, index: IndexDep
) -> BatchResponse:
    if not index.ready:
        raise ApiError(503, "index not yet ready")
    signals: list[str | list[str]] = [
        s if (body.rotations or isinstance(s, str)) else s[:1] for s in body.signals
    ]
    if any(not isinstance(s, str) for s in signals) and body.signal_type != "pdq":
        raise ApiError(400, "only PDQ signals may be lists of variants")
    try:
        outcome = await run_in_threadpool(
            lambda: curation.match(
                body.signal_type, signals, index,
                banks=set(body.banks) if body.banks is not None else None,
                rules=cached_rules(request),
            )
        )  # fmt: skip
    except BadSignal as exc:
        raise ApiError(400, str(exc)) from exc
    count_matches(request, outcome)
    suppressed = set(outcome.suppressed)
    results = []
    for i, (signal, found) in enumerate(zip(signals, outcome.matches, strict=True)):
        query = signal if isinstance(signal, str) else signal[0]
        results.append(
            BatchResult(
                signal=query.strip().lower() if body.signal_type != "vpdq" else query,
                matches=[_match_json(m) for m in found],
                suppressed_by_negative_bank=i in suppressed,
            )
        )
    return BatchResponse(signal_type=body.signal_type, results=results)


@router.get("/metrics", tags=["Operations"], summary="Prometheus metrics")
def metrics(request: Request, _who: Lookup) -> Response:
    m: ApiMetrics = request.app.state.metrics
    index = request.app.state.index
    m.update_index(len(index), index.last_refresh, index.rebuilds)
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)

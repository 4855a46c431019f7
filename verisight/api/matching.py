"""HMA's hashing and matching endpoints (``/h``, ``/m``), same paths, parameters and shapes.

Shapes follow ``hasher-matcher-actioner/src/OpenMediaMatch/blueprints/hashing.py`` and
``matching.py``: ``distance`` is a string, errors are ``{"message": ...}``, the multipart
field is named after the content type (``photo``, ``video``). Scopes: ``lookup`` to match,
``hash`` to hash uploads (``POST /m/lookup`` needs both).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from verisight.banking import MIN_QUALITY, VARIANTS
from verisight.curation import MatchOutcome, coin
from verisight.hashing import SIGNAL_TYPES, BadSignal, compare

from .deps import (
    ApiError,
    CurationDep,
    Hash,
    IndexDep,
    Lookup,
    LookupAndHash,
    SettingsDep,
    cached_rules,
)
from .metrics import count_matches
from .uploads import hash_upload, hash_url, read_form

router = APIRouter()


def _flag(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise ApiError(400, "invalid boolean parameter - prefer true/false")


def _banks(value: str | None) -> set[str] | None:
    return set(value.split(",")) if value else None


def _without_weak_pdq(hashes: dict[str, str]) -> dict[str, str]:
    """Drop a PDQ below quality 50 (and its variants), as ``verisight match`` does; the
    ``pdq_quality`` key stays only to say that one was dropped."""
    quality = int(hashes.pop("pdq_quality", MIN_QUALITY))
    if quality >= MIN_QUALITY:
        return hashes
    kept = {k: v for k, v in hashes.items() if not k.startswith("pdq")}
    kept["pdq_quality"] = str(quality)
    return kept


# -- hashing ----------------------------------------------------------------------------


def _only(hashes: dict[str, str], types: str | None) -> dict[str, str]:
    """HMA's ``types=pdq,md5``: just those signal types (unknown or absent ones: 400)."""
    if types is None:
        return hashes
    wanted = [t.strip() for t in types.split(",") if t.strip()]
    if not wanted:
        raise ApiError(400, "empty signal type selection")
    for t in wanted:
        if t not in hashes:
            raise ApiError(400, f"signal type '{t}' doesn't exist or is disabled")
    return {t: hashes[t] for t in wanted}


@router.get("/h/hash", tags=["Hashing"], summary="Hash content from URL (off by default)")
async def hash_get(
    _who: Hash,
    settings: SettingsDep,
    url: str,
    content_type: str | None = None,
    types: str | None = None,
) -> dict[str, str]:
    return _only(await hash_url(url, content_type, settings), types)


@router.post("/h/hash", tags=["Hashing"], summary="Hash an uploaded photo or video")
async def hash_post(
    request: Request, _who: Hash, settings: SettingsDep, types: str | None = None
) -> dict[str, str]:
    form = await read_form(request)
    return _only(await hash_upload(form, settings), types)


# -- matching ---------------------------------------------------------------------------


def _by_bank(outcome: MatchOutcome) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for m in outcome.matches[0] if outcome.matches else []:
        out.setdefault(m.content.bank, []).append(
            {"bank_content_id": m.content.id, "distance": str(m.distance)}
        )
    return out


def _lookup(
    request: Request,
    curation: CurationDep,
    index: IndexDep,
    signal_type: str,
    signal: str | list[str],
    banks: set[str] | None,
    bypass_coinflip: bool,
) -> dict[str, list[dict[str, Any]]]:
    if not index.ready:
        raise ApiError(503, "index not yet ready")
    flip = None if bypass_coinflip else coin(request.query_params.get("seed"))
    try:
        outcome = curation.match(
            signal_type, [signal], index, banks=banks, coinflip=flip, rules=cached_rules(request)
        )
    except BadSignal as exc:
        raise ApiError(400, str(exc)) from exc
    count_matches(request, outcome)
    return _by_bank(outcome)


@router.get("/m/lookup", tags=["Matching"], summary="Look a hash up")
async def lookup_get(
    request: Request,
    _who: Lookup,
    curation: CurationDep,
    index: IndexDep,
    settings: SettingsDep,
    signal_type: str | None = None,
    signal: str | None = None,
    url: str | None = None,
    content_type: str | None = None,
    banks: str | None = None,
    bypass_coinflip: str | None = None,
) -> dict[str, Any]:
    bypass = _flag(bypass_coinflip)
    if url:
        if "hash" not in _who.scopes:
            raise ApiError(403, "this key lacks the scope hash (needed to look a URL up)")
        hashes = _without_weak_pdq(await hash_url(url, content_type, settings, quality=True))
        resp = {
            st: await run_in_threadpool(
                _lookup, request, curation, index, st, h, _banks(banks), bypass
            )
            for st, h in hashes.items()
            if st in SIGNAL_TYPES
        }
        if "pdq_quality" in hashes:
            resp["pdq"] = {}
        if signal_type is not None:
            return resp.get(signal_type, {})
        return resp
    if not signal or not signal_type:
        raise ApiError(400, "Either url or both signal and signal_type are required")
    return await run_in_threadpool(
        _lookup, request, curation, index, signal_type, signal, _banks(banks), bypass
    )


@router.post("/m/lookup", tags=["Matching"], summary="Look an uploaded file up")
async def lookup_post(
    request: Request,
    _who: LookupAndHash,
    curation: CurationDep,
    index: IndexDep,
    settings: SettingsDep,
    banks: str | None = None,
    bypass_coinflip: str | None = None,
    rotations: str | None = None,
) -> dict[str, Any]:
    """Extension: ``rotations=true`` also searches the photo's 7 other rotations and flips."""
    rotate = _flag(rotations)
    form = await read_form(request)
    hashes = _without_weak_pdq(await hash_upload(form, settings, rotations=rotate, quality=True))
    bypass = _flag(bypass_coinflip)
    queries: dict[str, str | list[str]] = {k: v for k, v in hashes.items() if k in SIGNAL_TYPES}
    if rotate and "pdq" in hashes:
        queries["pdq"] = [hashes["pdq"], *(hashes[f"pdq_{v}"] for v in VARIANTS[1:]
                                           if f"pdq_{v}" in hashes)]  # fmt: skip
    out = {
        st: await run_in_threadpool(_lookup, request, curation, index, st, h, _banks(banks), bypass)
        for st, h in queries.items()
    }
    if "pdq_quality" in hashes:  # a weak PDQ is not matched, as in `verisight match`
        out["pdq"] = {}
    return out


@router.get("/m/raw_lookup", tags=["Matching"], summary="Raw hash lookup")
def raw_lookup(
    request: Request,
    _who: Lookup,
    curation: CurationDep,
    index: IndexDep,
    signal: str,
    signal_type: str,
    banks: str | None = None,
    include_distance: str | None = None,
) -> dict[str, Any]:
    with_distance = _flag(include_distance)
    if not index.ready:
        raise ApiError(503, "index not yet ready")
    try:
        outcome = curation.match(
            signal_type, [signal], index, banks=_banks(banks), negative=False,
            rules=cached_rules(request),
        )  # fmt: skip
    except BadSignal as exc:
        raise ApiError(400, str(exc)) from exc
    found = outcome.matches[0]
    if with_distance:
        return {
            "matches": [
                {"bank_content_id": m.content.id, "distance": str(m.distance)} for m in found
            ]
        }
    return {"matches": [m.content.id for m in found]}


@router.get("/m/index/status", tags=["Matching"], summary="Index status")
def index_status(
    _who: Lookup, index: IndexDep, signal_type: str | None = None
) -> dict[str, dict[str, Any]]:
    names = list(SIGNAL_TYPES)
    if signal_type is not None:
        if signal_type not in SIGNAL_TYPES:
            raise ApiError(400, f"No such signal type '{signal_type}'")
        names = [signal_type]
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        if name == "pdq":
            out[name] = {
                "present": index.ready,
                "built_to": int(index.last_refresh) if index.ready else -1,
                "size": len(index),
            }
        else:  # exact and vPDQ look-ups read the database: always current
            out[name] = {"present": True, "built_to": int(index.last_refresh), "size": -1}
    return out


@router.post("/m/compare", tags=["Matching"], summary="Compare pairs of hashes")
async def compare_hashes(request: Request, _who: Lookup) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError as exc:
        raise ApiError(400, "Request input was not a dict") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "Request input was not a dict")
    results: dict[str, Any] = {}
    for st, pair in data.items():
        if not isinstance(pair, list):
            raise ApiError(400, f"Comparison hashes for {st} was not a list")
        if len(pair) != 2:
            raise ApiError(400, "Comparison hash list length must be exactly 2")
        if st not in SIGNAL_TYPES:
            raise ApiError(400, f"No such SignalType '{st}'")
        try:
            match, info = compare(st, str(pair[0]), str(pair[1]))
        except BadSignal as exc:
            raise ApiError(400, f"Invalid {st} hash: {exc}") from exc
        results[st] = [match, info]
    return results

"""HMA's curation endpoints (``/c``): banks, bank content, signal types.

Shapes follow ``hasher-matcher-actioner/src/OpenMediaMatch/blueprints/curation.py`` and
``schemas/curation.py``. Banks made here are ordinary Verisight banks (``verisight bank list``
shows them; they export as VICS) and every bank imported by the CLI is here. Each change is
written to the audit log under the API key's name. Scope: ``curate`` (adding content by file
also needs ``hash``).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from verisight.curation import ApiBank, ContentNotFound
from verisight.hashing import SIGNAL_TYPES
from verisight.store.content import ContentView

from .deps import ApiError, Curate, CurateAndHash, CurationDep, Lookup, SettingsDep
from .schemas import (
    AddedContent,
    BankConfig,
    BankCreateRequest,
    BankedContentMetadata,
    BankUpdateRequest,
)
from .uploads import hash_upload, hash_url, read_form

router = APIRouter(prefix="/c")


def bank_json(b: ApiBank) -> BankConfig:
    """HMA's ``BankConfig`` plus Verisight's settings (extra fields HMA clients ignore)."""
    return BankConfig(
        name=b.name, matching_enabled_ratio=b.matching_enabled_ratio, kind=b.kind,
        pdq_threshold=b.pdq_threshold, label=b.label, entries=b.entries,
    )  # fmt: skip


@router.get("/banks", tags=["Banks"], summary="List banks")
def banks_index(_who: Lookup, curation: CurationDep) -> list[BankConfig]:
    return [bank_json(b) for b in curation.banks()]


@router.post("/banks", tags=["Banks"], summary="Create bank", status_code=201)
def bank_create(body: BankCreateRequest, who: Curate, curation: CurationDep) -> BankConfig:
    if body.enabled_ratio is not None and body.enabled is None:
        ratio = body.enabled_ratio
    elif body.enabled is not None:
        ratio = 1.0 if body.enabled else 0.0
    else:
        ratio = 1.0
    bank = curation.create_bank(
        who.name, body.name, enabled_ratio=ratio, kind=body.kind, pdq_threshold=body.pdq_threshold
    )
    return bank_json(bank)


@router.get("/bank/{bank_name}", tags=["Banks"], summary="Get bank")
def bank_show(bank_name: str, _who: Lookup, curation: CurationDep) -> BankConfig:
    return bank_json(curation.bank(bank_name))


@router.put("/bank/{bank_name}", tags=["Banks"], summary="Update bank")
def bank_update(
    bank_name: str, body: BankUpdateRequest, who: Curate, curation: CurationDep
) -> BankConfig:
    ratio = body.enabled_ratio
    if ratio is None and body.enabled is not None:
        ratio = 1.0 if body.enabled else 0.0
    bank = curation.update_bank(who.name, bank_name, new_name=body.name, enabled_ratio=ratio)
    return bank_json(bank)


@router.delete("/bank/{bank_name}", tags=["Banks"], summary="Delete bank")
def bank_delete(bank_name: str, who: Curate, curation: CurationDep) -> dict[str, str]:
    curation.delete_bank(who.name, bank_name)
    return {"message": "Done"}


# -- content ----------------------------------------------------------------------------


def _metadata(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ApiError(400, "metadata should be a json object")
    raw = {k: v for k, v in raw.items() if k != "collab"}
    try:
        meta = BankedContentMetadata(**raw)
    except ValidationError as exc:
        raise ApiError(400, f"Invalid metadata: {exc}") from exc
    return meta.model_dump(by_alias=True, exclude_none=True) or None


@router.post("/bank/{bank_name}/content", tags=["Bank Content"], summary="Add content by file")
async def bank_add_content(
    request: Request,
    bank_name: str,
    who: CurateAndHash,
    curation: CurationDep,
    settings: SettingsDep,
    url: str | None = None,
    content_type: str | None = None,
) -> AddedContent:
    await run_in_threadpool(curation.bank, bank_name)  # 404 before reading the upload
    metadata: Any = None
    note: Any = None
    if url:
        hashes = await hash_url(url, content_type, settings)
    elif request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await read_form(request)
        if "metadata" in form:
            try:
                metadata = json.loads(str(form["metadata"]))
            except ValueError as exc:
                raise ApiError(400, "metadata form field must be valid JSON") from exc
        note = form.get("note") or None
        hashes = await hash_upload(form, settings)
    else:
        raise ApiError(400, "Neither `url` nor multipart file upload was received")
    signals = {k: v for k, v in hashes.items() if k in SIGNAL_TYPES}
    if "video_md5" in signals:  # a video's MD5 is stored once, as its video_md5
        signals.pop("md5", None)
    content_id, clean = await run_in_threadpool(
        lambda: curation.add_content(
            who.name, bank_name, signals, metadata=_metadata(metadata),
            note=note if isinstance(note, str) else None,
        )
    )  # fmt: skip
    return AddedContent(id=content_id, signals=clean)


@router.post("/bank/{bank_name}/signal", tags=["Bank Content"], summary="Add content by hashes")
async def bank_add_signals(
    request: Request, bank_name: str, who: Curate, curation: CurationDep
) -> AddedContent:
    try:
        data = await request.json()
    except ValueError as exc:
        raise ApiError(400, "this endpoint expects a json object payload") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "this endpoint expects a json object payload")
    note = data.pop("note", None) or None
    metadata = _metadata(data.pop("metadata", None))
    content_id, clean = await run_in_threadpool(
        lambda: curation.add_content(who.name, bank_name, data, metadata=metadata, note=note)
    )
    return AddedContent(id=content_id, signals=clean)


def _content_response(
    c: ContentView, curation: CurationDep, include_signals: bool, include_metadata: bool
) -> dict[str, Any]:
    bank = curation.bank(c.bank)
    out: dict[str, Any] = {
        "id": c.id,
        "disable_until_ts": c.disable_until_ts,
        "original_media_uri": None,
        "bank": {"name": bank.name, "matching_enabled_ratio": bank.matching_enabled_ratio},
    }
    if include_signals:
        out["signals"] = curation.content_signals(c)
    if include_metadata and c.user_metadata:
        out["metadata"] = {"content_id": None, "content_uri": None, "json": None,
                           "collab": None, **c.user_metadata}  # fmt: skip
    if c.note is not None:
        out["note"] = c.note
    # Extensions: what the bank entry carries (VICS and other lists' fields).
    r = c.row
    out["entry"] = {
        "label": r.label, "category": r.category, "source_id": r.source_id, "series": r.series,
        "bank_kind": c.bank_kind,
    }  # fmt: skip
    return out


def _bool(value: str | None, default: bool) -> bool:
    return default if value is None else value.lower() == "true"


@router.get("/bank/{bank_name}/content/{content_id}", tags=["Bank Content"], summary="Get content")
def bank_get_content(
    bank_name: str,
    content_id: int,
    _who: Lookup,
    curation: CurationDep,
    include_signals: str | None = None,
    include_metadata: str | None = None,
) -> dict[str, Any]:
    c = curation.get_content(bank_name, content_id)
    return _content_response(
        c, curation, _bool(include_signals, False), _bool(include_metadata, True)
    )


@router.put(
    "/bank/{bank_name}/content/{content_id}", tags=["Bank Content"], summary="Update content"
)
async def bank_update_content(
    request: Request, bank_name: str, content_id: int, who: Curate, curation: CurationDep
) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError as exc:
        raise ApiError(400, "this endpoint expects a json object payload") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "this endpoint expects a json object payload")
    ts: int | None = None
    if "disable_until_ts" in data:
        try:
            ts = int(data["disable_until_ts"])
        except (TypeError, ValueError) as exc:
            raise ApiError(400, f"Invalid int: '{data['disable_until_ts']}'") from exc
    c = await run_in_threadpool(
        lambda: curation.update_content(
            who.name, bank_name, content_id, disable_until_ts=ts, note=data.get("note"),
            set_note="note" in data,
        )
    )  # fmt: skip
    bank = await run_in_threadpool(curation.bank, c.bank)
    # HMA answers with its BankContentConfig dataclass as JSON.
    return {
        "id": c.id, "disable_until_ts": c.disable_until_ts, "collab_metadata": {},
        "original_media_uri": None,
        "bank": {"name": bank.name, "matching_enabled_ratio": bank.matching_enabled_ratio},
        "user_metadata": c.user_metadata, "note": c.note,
    }  # fmt: skip


@router.delete(
    "/bank/{bank_name}/content/{content_id}", tags=["Bank Content"], summary="Remove content"
)
def bank_delete_content(
    bank_name: str, content_id: int, who: Curate, curation: CurationDep
) -> dict[str, int]:
    return {"deleted": curation.delete_content(who.name, bank_name, content_id)}


@router.get("/signal_type", tags=["Configuration"], summary="List signal types")
def signal_types(_who: Lookup) -> list[dict[str, Any]]:
    return [{"name": st, "enabled_ratio": 1.0} for st in SIGNAL_TYPES]


@router.get("/content_type", tags=["Configuration"], summary="List content types")
def content_types(_who: Lookup) -> list[dict[str, Any]]:
    return [{"name": "photo", "enabled": True}, {"name": "video", "enabled": True}]


__all__ = ["ContentNotFound", "router"]

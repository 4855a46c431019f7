"""Settings, errors and FastAPI dependencies of the platform API: the case's services, the
followed index, and API-key authentication with scopes.

Nothing is global: :func:`verisight.api.app.create_app` puts everything on ``app.state``.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from verisight.apikeys import ApiKeys
from verisight.curation import Curation
from verisight.limits import Limits

from .index import FollowedIndex


@dataclass(frozen=True)
class ApiSettings:
    """How ``verisight api`` runs (every field is a command-line option)."""

    #: Allow ``lookup`` endpoints without a key.
    anonymous_lookups: bool = False
    #: Hosts ``GET /h/hash?url=`` (and ``url=`` on lookups and content) may fetch from;
    #: empty means fetching by URL is off.
    url_hosts: tuple[str, ...] = ()
    #: Largest request body (uploads included), in bytes.
    max_upload_bytes: int = 64 << 20
    #: Decoding limits, the same as scanning's.
    limits: Limits = field(default_factory=Limits)
    #: Seconds between polls of the database for new entries.
    poll_seconds: float = 2.0
    #: ``GET /status`` answers ``INDEX-STALE`` after this many seconds without a refresh.
    stale_seconds: float = 65.0


class ApiError(Exception):
    """An error answered as HMA does: ``{"message": ...}`` with the status code."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class BodyTooLarge(Exception):
    """Raised while reading a body that grew past the upload limit (answered 413)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's name and scopes, or anonymous (lookups only, when allowed)."""

    name: str
    scopes: tuple[str, ...]
    key_id: int | None = None


class RequestCounter:
    """Requests per key, counted in memory and added to the database in batches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[int] = Counter()

    def add(self, key_id: int) -> None:
        with self._lock:
            self._counts[key_id] += 1

    def take(self) -> dict[int, int]:
        with self._lock:
            out, self._counts = dict(self._counts), Counter()
        return out


def get_curation(request: Request) -> Curation:
    curation: Curation = request.app.state.curation
    return curation


def get_index(request: Request) -> FollowedIndex:
    index: FollowedIndex = request.app.state.index
    return index


def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


CurationDep = Annotated[Curation, Depends(get_curation)]
IndexDep = Annotated[FollowedIndex, Depends(get_index)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]


def _presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return request.headers.get("x-api-key") or None


def require(*scopes: str) -> Callable[[Request], Principal]:
    """A dependency: the caller, who must hold every scope in ``scopes``.

    No key, an unknown or a revoked key: 401. A key without a scope: 403. Anonymous callers
    pass only ``lookup`` and only with ``--anonymous-lookups``."""

    def dependency(request: Request) -> Principal:
        keys: ApiKeys = request.app.state.api_keys
        settings: ApiSettings = request.app.state.settings
        presented = _presented_key(request)
        if presented is None:
            if settings.anonymous_lookups and set(scopes) <= {"lookup"}:
                principal = Principal("anonymous", ("lookup",))
                request.state.principal = principal
                return principal
            raise ApiError(401, "an API key is required (Authorization: Bearer <key>)")
        view = keys.authenticate(presented)
        if view is None:
            raise ApiError(401, "unknown or revoked API key")
        principal = Principal(view.name, view.scopes, view.id)
        request.state.principal = principal
        request.app.state.request_counter.add(view.id)
        missing = [s for s in scopes if s not in view.scopes]
        if missing:
            raise ApiError(403, f"this key lacks the scope {', '.join(missing)}")
        return principal

    return dependency


Lookup = Annotated[Principal, Depends(require("lookup"))]
Hash = Annotated[Principal, Depends(require("hash"))]
LookupAndHash = Annotated[Principal, Depends(require("lookup", "hash"))]
Curate = Annotated[Principal, Depends(require("curate"))]
CurateAndHash = Annotated[Principal, Depends(require("curate", "hash"))]

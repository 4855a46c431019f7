"""Settings, errors and FastAPI dependencies of the platform API: the case's services, the
followed index, and API-key authentication with scopes.

Nothing is global: :func:`verisight.api.app.create_app` puts everything on ``app.state``.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Request

from verisight.apikeys import ApiKeys, key_hash
from verisight.curation import BankRule, Curation
from verisight.limits import Limits
from verisight.store.apikeys import ApiKeyView

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


#: Seconds a replica trusts what it read of a key (a key revoked elsewhere, by the CLI or the
#: web app, stops working within this) and of the banks' rules (also dropped at once on every
#: NOTIFY and every write through this replica).
CACHE_SECONDS = 1.0

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Values read from the database, kept ``seconds`` (at most ``max_items``; a full cache
    starts again, so unknown keys sent in bulk cannot grow it)."""

    def __init__(self, seconds: float = CACHE_SECONDS, max_items: int = 10_000) -> None:
        self.seconds = seconds
        self.max_items = max_items
        self._items: dict[K, tuple[float, V]] = {}

    def get(self, key: K, load: Callable[[], V]) -> V:
        now = time.monotonic()
        hit = self._items.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        if len(self._items) >= self.max_items:
            self._items = {}
        self._items[key] = (now + self.seconds, value)
        return value

    def clear(self) -> None:
        self._items = {}


def get_curation(request: Request) -> Curation:
    curation: Curation = request.app.state.curation
    return curation


def get_index(request: Request) -> FollowedIndex:
    index: FollowedIndex = request.app.state.index
    return index


def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def cached_rules(request: Request) -> list[BankRule]:
    """The banks' matching rules, as this replica cached them (see :data:`CACHE_SECONDS`)."""
    cache: TtlCache[None, list[BankRule]] = request.app.state.rules_cache
    return cache.get(None, get_curation(request).bank_rules)


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
        cache: TtlCache[str, ApiKeyView | None] = request.app.state.key_cache
        view = cache.get(key_hash(presented), lambda: keys.authenticate(presented))
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

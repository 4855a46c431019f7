"""Settings, errors and FastAPI dependencies of the platform API: the case's services, the
followed index, and API-key authentication with scopes.

Nothing is global: :func:`verisight.api.app.create_app` puts everything on ``app.state``.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

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
    starts again, so unknown keys sent in bulk cannot grow it).

    One load at a time (:meth:`get`): when an entry expires under load, the first thread reads
    it again and the others wait for that read instead of each making its own (all of a
    replica's requests used to miss in the same instant, once a second). A value read before a
    :meth:`clear` is not kept after it."""

    def __init__(self, seconds: float = CACHE_SECONDS, max_items: int = 10_000) -> None:
        self.seconds = seconds
        self.max_items = max_items
        self._items: dict[K, tuple[float, V]] = {}
        self._loading = threading.Lock()
        self._generation = 0

    def cached(self, key: K) -> tuple[V] | None:
        """The value, in a 1-tuple, if it is cached and fresh (never reads the database)."""
        hit = self._items.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return (hit[1],)
        return None

    def get(self, key: K, load: Callable[[], V]) -> V:
        hit = self.cached(key)
        if hit is not None:
            return hit[0]
        with self._loading:
            hit = self.cached(key)  # read by the thread this one waited for
            if hit is not None:
                return hit[0]
            generation = self._generation
            expires = time.monotonic() + self.seconds
            value = load()
            if generation == self._generation:
                if len(self._items) >= self.max_items:
                    self._items = {}
                self._items[key] = (expires, value)
            return value

    def clear(self) -> None:
        self._generation += 1
        self._items = {}


# The dependencies below only read ``app.state``: ``async`` so that FastAPI calls them on the
# event loop (a plain ``def`` dependency costs a trip through the thread pool on every request).


async def get_curation(request: Request) -> Curation:
    curation: Curation = request.app.state.curation
    return curation


async def get_index(request: Request) -> FollowedIndex:
    index: FollowedIndex = request.app.state.index
    return index


async def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def cached_rules(request: Request) -> list[BankRule]:
    """The banks' matching rules, as this replica cached them (see :data:`CACHE_SECONDS`)."""
    cache: TtlCache[None, list[BankRule]] = request.app.state.rules_cache
    curation: Curation = request.app.state.curation
    return cache.get(None, curation.bank_rules)


CurationDep = Annotated[Curation, Depends(get_curation)]
IndexDep = Annotated[FollowedIndex, Depends(get_index)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]


def _presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return request.headers.get("x-api-key") or None


def require(*scopes: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the caller, who must hold every scope in ``scopes``.

    No key, an unknown or a revoked key: 401. A key without a scope: 403. Anonymous callers
    pass only ``lookup`` and only with ``--anonymous-lookups``."""

    async def dependency(request: Request) -> Principal:
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
        digest = key_hash(presented)
        hit = cache.cached(digest)  # on the event loop: no thread for a cached key
        if hit is not None:
            view = hit[0]
        else:
            view = await run_in_threadpool(cache.get, digest, lambda: keys.authenticate(presented))
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

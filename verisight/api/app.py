"""The FastAPI application of ``verisight api``: :func:`create_app` builds it around a case.

Errors are answered as HMA does, ``{"message": ...}`` with the status code, whatever raised
them: a bad parameter (400, not FastAPI's 422), a missing bank (404), an existing bank (403),
a body over the upload limit (413), an upload that is not what it claims or cannot be decoded
within the scan limits (400). The server stays up for every input.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from verisight.case import Case
from verisight.curation import BankExists, BankRule, ContentNotFound
from verisight.errors import UsageError
from verisight.hashing import BadSignal, BadUpload
from verisight.store.apikeys import ApiKeyNotFound, ApiKeyView
from verisight.store.banks import BankNotFound

from . import banks, extensions, matching
from .deps import ApiError, ApiSettings, BodyTooLarge, RequestCounter, TtlCache
from .index import FollowedIndex
from .metrics import ApiMetrics, route_of
from .notify import ChangeListener, listen_url
from .segments import SegmentStore

#: Database connections each API process keeps for its look-ups' reads (a key, the banks'
#: rules, the matched entries and their states; :meth:`verisight.case.Case.for_lookups`). A
#: request beyond them waits for one to come back. Opening a connection per request beyond the
#: pool (PostgreSQL starts a backend process for each) was the look-ups' latency tail; and more
#: busy backends than cores, all reading the same hot pages, stall together for seconds when the
#: cores are oversubscribed (8 a process: p99 363-475 ms; 2: 64-80 ms, same throughput; see
#: docs/benchmarks.md). A read takes well under a millisecond, so 2 serve one process's look-ups.
LOOKUP_CONNECTIONS = 2


def _message(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


class BodyLimit:
    """Refuse bodies over ``limit`` bytes with 413, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await _message(413, f"the request body is over {self.limit:,} bytes")(
                    scope, receive, send
                )
                return
        seen = 0
        started = False

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, tracking_send)
        except BodyTooLarge:
            if not started:
                await _message(413, f"the request body is over {self.limit:,} bytes")(
                    scope, receive, send
                )


class Observe:
    """Count each request by route, method and status, and by key (a plain ASGI middleware:
    Starlette's ``BaseHTTPMiddleware`` costs a task and two streams a request); after a
    curation request that may have written (``/c/``, not GET or HEAD), call ``written`` (drops
    this replica's caches, so its own writes show at once)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics, written: Callable[[], None]) -> None:
        self.app = app
        self.metrics = metrics
        self.written = written

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            if scope["method"] not in ("GET", "HEAD") and scope["path"].startswith("/c/"):
                self.written()
            seconds = time.perf_counter() - start
            self.metrics.observe(route_of(scope), scope["method"], status, seconds)
            principal = scope.get("state", {}).get("principal")
            if principal is not None:
                self.metrics.key_requests.labels(principal.name).inc()


def create_app(case: Case, settings: ApiSettings | None = None, *, follow: bool = True) -> FastAPI:
    """The platform API over ``case``. With ``follow`` the index follows the database in a
    background thread (started with the app), woken by PostgreSQL's NOTIFY where the case is on
    PostgreSQL; otherwise call ``app.state.index.refresh()``."""
    settings = settings or ApiSettings()
    curation, api_keys = case.for_lookups(LOOKUP_CONNECTIONS)
    index = FollowedIndex(
        curation,
        poll_seconds=settings.poll_seconds if follow else 0,
        stale_seconds=settings.stale_seconds,
        segments=SegmentStore(case.directory / "api-index"),
    )
    key_cache: TtlCache[str, ApiKeyView | None] = TtlCache()
    rules_cache: TtlCache[None, list[BankRule]] = TtlCache()

    def changed() -> None:
        """The banks changed (NOTIFY) or this replica wrote: forget what was cached."""
        key_cache.clear()
        rules_cache.clear()

    def woken() -> None:
        changed()
        index.wake()

    pg = listen_url(case.database_url) if follow else None
    listener = ChangeListener(pg, woken) if pg else None
    counter = RequestCounter()
    stop = threading.Event()

    def flush_counts() -> None:
        counts = counter.take()
        if counts:
            case.api_keys.count_requests(counts)

    def flusher() -> None:
        while not stop.wait(5.0):
            with contextlib.suppress(Exception):  # the database may be briefly away
                flush_counts()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if listener is not None:
            listener.start()  # before the load, so nothing written meanwhile is missed
        index.start()
        thread = threading.Thread(target=flusher, name="key-counts", daemon=True)
        thread.start()
        # Everything alive now (imported modules, the app) lives as long as the process: out of
        # the collector's sight, a full collection walks only what requests allocate (it walked
        # every object numba, SQLAlchemy and FastAPI made at import: 0.1-0.6 s pauses under load)
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            stop.set()
            if listener is not None:
                listener.stop()
            index.stop()
            flush_counts()

    app = FastAPI(
        title="Verisight platform API",
        summary="HMA-compatible hashing, matching and curation over Verisight's banks",
        version="1",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.case = case
    app.state.curation = curation
    app.state.api_keys = api_keys
    app.state.settings = settings
    app.state.index = index
    app.state.listener = listener
    app.state.request_counter = counter
    app.state.key_cache = key_cache
    app.state.rules_cache = rules_cache
    app.state.metrics = metrics = ApiMetrics()
    app.state.flush_counts = flush_counts

    app.add_middleware(Observe, metrics=metrics, written=changed)
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _message(exc.status, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _message(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query"))
            parts.append(f"{where}: {e.get('msg')}" if where else str(e.get("msg")))
        return _message(400, "; ".join(parts) or "invalid request")

    @app.exception_handler(UsageError)
    async def _usage(request: Request, exc: UsageError) -> JSONResponse:
        if isinstance(exc, BankNotFound):
            name = request.path_params.get("bank_name", "")
            return _message(404, f"bank '{name}' not found" if name else str(exc))
        if isinstance(exc, ContentNotFound | ApiKeyNotFound):
            return _message(404, str(exc))
        if isinstance(exc, BankExists):
            return _message(403, str(exc))
        if isinstance(exc, BadSignal | BadUpload):
            return _message(400, str(exc))
        return _message(400, str(exc))

    @app.get("/status", tags=["Status"], summary="Liveness with index readiness")
    def status() -> PlainTextResponse:
        if not index.ready:
            return PlainTextResponse("INDEX-NOT-LOADED", status_code=503)
        if index.stale:
            return PlainTextResponse("INDEX-STALE", status_code=503)
        return PlainTextResponse("I-AM-ALIVE")

    @app.get("/status/live", tags=["Status"], summary="Liveness only")
    def status_live() -> PlainTextResponse:
        return PlainTextResponse("I-AM-ALIVE")

    @app.get("/site-map", tags=["Status"], summary="Every route")
    def site_map() -> list[str]:
        paths = set(app.openapi().get("paths", {})) | {app.openapi_url or "/openapi.json"}
        return sorted(paths)

    app.include_router(matching.router)
    app.include_router(extensions.router)
    app.include_router(banks.router)
    return app

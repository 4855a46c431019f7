"""Request-body limits, enforced before anything parses a body.

:class:`BodyLimit` is a plain ASGI middleware: a request whose ``Content-Length`` is over its
route's limit gets a 413 without a byte of the body being read; a body without a length
(chunked) or one that lies is counted while it streams in, and reading stops with a 413 as
soon as it passes the limit, so a form parser never holds more than the limit. The limits are
per path prefix (:data:`LIMITS`, longest prefix wins): the login form takes a few KiB, the
assessment forms (a grid of twelve rows with notes) up to 1 MiB.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import HTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

KIB = 1024
DEFAULT_LIMIT = 1024 * KIB
LIMITS: dict[str, int] = {
    "/login": 16 * KIB,
    "/logout": 16 * KIB,
    "/break": 16 * KIB,
    "/media/": 16 * KIB,
    "/settings": 64 * KIB,
    "/password": 16 * KIB,
    "/admin/": 64 * KIB,
    "/admin/banks/import": 256 * 1024 * KIB,  # a hash list uploaded to import
}


def limit_for(path: str, limits: dict[str, int] | None = None) -> int:
    table = LIMITS if limits is None else limits
    best = ""
    for prefix in table:
        if path.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return table[best] if best else DEFAULT_LIMIT


class TooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is over {limit} bytes")


class BodyLimit:
    """Refuse request bodies over the route's limit with 413, from the header or mid-stream."""

    def __init__(self, app: ASGIApp, limits: dict[str, int] | None = None) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["path"], self.limits)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = True
            if too_big:
                await _refuse(send, limit)
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLarge(limit)
            return message

        await self.app(scope, counted, send)


async def _refuse(send: Send, limit: int) -> None:
    body = f'{{"title": "Request body too large", "status": 413, "limit": {limit}}}'.encode()
    await send({
        "type": "http.response.start", "status": 413,
        "headers": [(b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()), (b"connection", b"close")],
    })  # fmt: skip
    await send({"type": "http.response.body", "body": body})

"""Streaming an already-opened file with HTTP Range support.

:class:`VerifiedFileResponse` is Starlette's :class:`~starlette.responses.FileResponse` (its
Range parsing, 206/416 answers and multipart ranges) fed from a file object the service
opened and checked (:func:`verisight.assessment.video.open_verified`) instead of a path, so
what is streamed is exactly the file that was checked, even if the path changes meanwhile.
It reads through a duplicate of the descriptor for each body it sends and closes the
original when the response is done.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import BinaryIO

import anyio
from starlette.responses import FileResponse
from starlette.types import Receive, Scope, Send


class VerifiedFileResponse(FileResponse):
    def __init__(
        self,
        file: BinaryIO,
        stat_result: os.stat_result,
        *,
        media_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._file = file
        super().__init__(
            f"/dev/fd/{file.fileno()}", media_type=media_type, headers=headers,
            stat_result=stat_result,
        )  # fmt: skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # no "pathsend": the server must not reopen anything by path
        extensions = {k: v for k, v in scope.get("extensions", {}).items()
                      if k != "http.response.pathsend"}  # fmt: skip
        try:
            await super().__call__({**scope, "extensions": extensions}, receive, send)
        finally:
            self._file.close()

    @asynccontextmanager
    async def _open_file(self) -> AsyncIterator[anyio.AsyncFile[bytes]]:
        raw = os.fdopen(os.dup(self._file.fileno()), "rb")
        raw.seek(0)
        file = anyio.wrap_file(raw)
        try:
            yield file
        finally:
            with anyio.CancelScope(shield=True):
                await file.aclose()

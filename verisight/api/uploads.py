"""Reading what a request brings to hash: a multipart upload (the field is named after HMA's
content type, ``photo`` or ``video``) or, only when enabled for listed hosts, a URL."""

from __future__ import annotations

import urllib.error
import urllib.request
from urllib.parse import urlparse

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from verisight.hashing import CONTENT_TYPES, BadUpload, hash_content

from .deps import ApiError, ApiSettings, BodyTooLarge


async def read_form(request: Request) -> FormData:
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        raise ApiError(400, "Missing multipart/form-data file upload")
    try:
        return await request.form(max_files=2, max_fields=20)
    except ApiError:
        raise
    except Exception as exc:  # a malformed multipart body, or one over the limit
        if _caused_by(exc, BodyTooLarge):
            raise ApiError(413, "the request body is over the upload limit (bytes)") from exc
        raise ApiError(400, f"cannot read the multipart body: {exc}") from exc


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    if isinstance(exc, kind):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return any(_caused_by(e, kind) for e in exc.exceptions)
    return exc.__cause__ is not None and _caused_by(exc.__cause__, kind)


async def hash_upload(
    form: FormData, settings: ApiSettings, *, rotations: bool = False, quality: bool = False
) -> dict[str, str]:
    """HMA's ``hash_media_from_form_data``: exactly one file, its field a content type."""
    files = [(k, v) for k, v in form.multi_items() if isinstance(v, UploadFile)]
    if not files:
        raise ApiError(400, "Missing multipart/form-data file upload")
    if len(files) > 1:
        raise ApiError(400, "Only one file allowed per request")
    field, upload = files[0]
    if field not in CONTENT_TYPES:
        raise ApiError(400, f"no such content_type: '{field}'")
    data = await upload.read()
    return await _hash(data, field, settings, rotations, quality)


async def _hash(
    data: bytes, content_type: str, settings: ApiSettings, rotations: bool, quality: bool = False
) -> dict[str, str]:
    try:
        return await run_in_threadpool(
            lambda: hash_content(
                data, content_type, settings.limits, rotations=rotations, quality=quality
            )
        )
    except BadUpload as exc:
        raise ApiError(400, str(exc)) from exc


def _host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    return any(host == a or host.endswith("." + a) for a in allowed)


async def hash_url(
    url: str, content_type: str | None, settings: ApiSettings, *, quality: bool = False
) -> dict[str, str]:
    """Fetch ``url`` and hash it: off (403) unless ``--url-host`` lists its host."""
    if not settings.url_hosts:
        raise ApiError(
            403, "hashing from a URL is off on this server (start it with --url-host HOST)"
        )
    parsed = urlparse(url)
    host = (parsed.hostname or "").lower()
    if parsed.scheme not in ("http", "https") or not host:
        raise ApiError(400, "Invalid or unsafe URL provided")
    if not _host_allowed(host, settings.url_hosts):
        raise ApiError(400, f"Invalid or unsafe URL provided: {host} is not an allowed host")
    data, header_type = await run_in_threadpool(_fetch, url, settings.max_upload_bytes)
    ct = content_type
    if not ct:
        if header_type.startswith("image"):
            ct = "photo"
        elif header_type.startswith("video"):
            ct = "video"
        else:
            raise ApiError(
                400,
                f"unsupported url ContentType: '{header_type}', if you know the expected type, "
                "provide it with the content_type query param",
            )
    if ct not in CONTENT_TYPES:
        raise ApiError(400, f"no such content_type: '{ct}'")
    return await _hash(data, ct, settings, False, quality)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a redirect could leave the allowed hosts


def _fetch(url: str, max_bytes: int) -> tuple[bytes, str]:
    opener = urllib.request.build_opener(_NoRedirect())
    try:
        with opener.open(url, timeout=30) as resp:
            length = resp.headers.get("content-length")
            if length is not None and length.isdigit() and int(length) > max_bytes:
                raise ApiError(413, "Content too large")
            data = resp.read(max_bytes + 1)
            if len(data) > max_bytes:
                raise ApiError(413, "Content too large")
            return data, str(resp.headers.get("content-type") or "")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ApiError(400, f"Failed to fetch URL: {exc}") from exc

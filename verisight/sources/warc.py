"""WARC reader (ISO 28500, via warcio): web captures as members with their provenance.

Per record type:

* ``response`` / ``resource`` — the payload (HTTP body, decoded as the browser saw it) is
  read up to ``max_member_bytes``. The member's chain link and ``url`` are the
  ``WARC-Target-URI``; ``captured_at`` is ``WARC-Date`` (UTC); ``record_id`` is
  ``WARC-Record-ID``; ``declared_mime`` is the HTTP ``Content-Type`` (for ``resource``
  records, the WARC ``Content-Type``) without parameters. The member is marked ``web``:
  :mod:`verisight.sources.containers` keeps it if it is media or opens it if it is a
  container, and skips anything else as ``NOT_MEDIA``. A record with ``WARC-Truncated``
  keeps its content with the error ``TRUNCATED``. A payload whose HTTP ``Content-Encoding``
  (gzip, deflate, br) expands past ``max_compression_ratio`` is ``ZIP_BOMB``, without content.
* ``revisit`` — no content: the member carries ``WARC-Payload-Digest`` as
  ``revisit_digest`` (or ``REVISIT_UNRESOLVED`` if there is none).
* ``request``, ``metadata``, ``warcinfo``, ``conversion``... — not items.

A record cut short by the end of the file is reported ``CORRUPT_WARC`` without content and
ends the WARC, whose container item then gets ``CORRUPT_WARC``; so does a record that
cannot be parsed (e.g. a garbage gzip member).

Compressed WARCs (record-at-a-time gzip, whole-file gzip, bzip2, xz) are decompressed by
:class:`verisight.sources.streams.GuardedStream` before warcio sees them, so the compression
ratio limit applies to them like to any compressed stream. The top-level byte budget counts
the payloads read into memory, not the whole capture.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO

from warcio.archiveiterator import ArchiveIterator

from verisight.errors import ItemError, ItemFailure, Reason
from verisight.sources._common import (
    CHUNK,
    ContainerStop,
    Context,
    Member,
    MemberCounter,
    MemberFailure,
    Readable,
    read_capped,
)

_PAYLOAD_RECORDS = ("response", "resource")


def read_warc(stream: Readable | BinaryIO, ctx: Context) -> Generator[Member, None, None]:
    """Yield a member for each response, resource and revisit record of a plain WARC stream.

    The payloads read count against the top-level budget.
    """
    records = iter(ArchiveIterator(stream))
    counter = MemberCounter(ctx.limits)
    while True:
        try:
            record = next(records, None)
        except ItemFailure:
            raise
        except Exception as exc:
            raise ContainerStop(
                Reason.CORRUPT_WARC, f"WARC record unreadable: {type(exc).__name__}: {exc}"
            ) from exc
        if record is None:
            return
        counter.next()
        if record.rec_type in _PAYLOAD_RECORDS:
            yield from _payload_member(record, ctx)
        elif record.rec_type == "revisit":
            yield _revisit_member(record)
            _drain(record)


def _provenance(record: Any) -> dict[str, Any]:
    headers = record.rec_headers
    url = headers.get_header("WARC-Target-URI")
    record_id = headers.get_header("WARC-Record-ID")
    name = url or record_id or "(record without target URI)"
    return {
        "name": name,
        "url": url,
        "captured_at": parse_warc_date(headers.get_header("WARC-Date")),
        "record_id": record_id,
        "web": True,
    }


def _revisit_member(record: Any) -> Member:
    digest = record.rec_headers.get_header("WARC-Payload-Digest")
    if digest:
        return Member(revisit_digest=digest, **_provenance(record))
    error = ItemError(Reason.REVISIT_UNRESOLVED, "revisit record without WARC-Payload-Digest")
    return Member(error=error, **_provenance(record))


def _payload_member(record: Any, ctx: Context) -> Iterator[Member]:
    prov = _provenance(record)
    mime = _declared_mime(record)
    data: bytes | None = None
    error: ItemError | None = None
    try:
        # The ratio limit applies to HTTP content encodings (gzip, deflate, br) as to any
        # compressed member: the decoded payload is judged against the bytes the record
        # holds for it (an unencoded payload never exceeds them).
        data = read_capped(record.content_stream(), ctx, compressed_size=_stored_size(record))
    except MemberFailure as exc:
        error = exc.error
    except ContainerStop as exc:
        yield Member(error=exc.error, declared_mime=mime, **prov)
        raise
    except Exception as exc:
        # A payload whose transfer or content encoding is broken: the record is bad, but
        # the next record can still be read.
        error = ItemError(Reason.CORRUPT_WARC, f"payload unreadable: {type(exc).__name__}: {exc}")
    try:
        missing = _drain(record)
    except ContainerStop as exc:
        yield Member(error=error or exc.error, declared_mime=mime, **prov)
        raise
    if missing:
        detail = f"record cut short: {missing} bytes missing at the end of the file"
        yield Member(error=ItemError(Reason.CORRUPT_WARC, detail), declared_mime=mime, **prov)
        raise ContainerStop(Reason.CORRUPT_WARC, f"WARC ends inside the record for {prov['name']}")
    if data is None:
        yield Member(error=error, declared_mime=mime, **prov)
        return
    truncated = record.rec_headers.get_header("WARC-Truncated")
    if truncated:
        error = ItemError(Reason.TRUNCATED, f"record marked WARC-Truncated: {truncated}")
    yield Member(data=data, size=len(data), error=error, declared_mime=mime, **prov)


def _stored_size(record: Any) -> int | None:
    """Bytes the record holds for its payload (HTTP body as stored), if known."""
    for size in (getattr(record, "payload_length", None), getattr(record, "length", None)):
        if isinstance(size, int) and size > 0:
            return size
    return None


def _drain(record: Any) -> int:
    """Read the rest of a record; return how many declared bytes were missing (cut file)."""
    raw = record.raw_stream
    try:
        while raw.read(CHUNK):
            pass
    except ItemFailure:
        raise
    except Exception as exc:
        raise ContainerStop(
            Reason.CORRUPT_WARC, f"WARC unreadable inside a record: {type(exc).__name__}: {exc}"
        ) from exc
    left = getattr(raw, "limit", 0)
    return left if isinstance(left, int) and left > 0 else 0


def _declared_mime(record: Any) -> str | None:
    if record.http_headers is not None:
        value = record.http_headers.get_header("Content-Type")
    elif record.rec_type == "resource":
        value = record.rec_headers.get_header("Content-Type")
    else:
        value = None
    if not value:
        return None
    mime = str(value).split(";", 1)[0].strip().lower()
    return mime or None


def parse_warc_date(value: str | None) -> datetime | None:
    """``WARC-Date`` as a timezone-aware UTC datetime (``None`` if absent or malformed).

    >>> parse_warc_date("2024-06-01T12:30:00Z")
    datetime.datetime(2024, 6, 1, 12, 30, tzinfo=datetime.timezone.utc)
    """
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)

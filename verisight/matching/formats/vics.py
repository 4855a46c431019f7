"""Project VIC VICS JSON, v1 (``odata.metadata``) and v2 (``@odata.context``), streamed.

Layouts: a case (``value[0]`` has ``CaseID``… and a ``Media[]`` array) or a hash set
(``value[]`` is the Media). Each ``value`` item with a ``Media`` array is a case and its
Media are entries; any other item is itself a Media, unless it looks like a case with no
Media (case keys, no hash keys), which yields nothing.

From each Media: ``MD5``, ``SHA1``, ``Category`` (0–5), ``MediaID``, ``Series``,
``VictimIdentified``, ``Comments`` and ``AlternativeHashes[]`` (``HashName``/``HashValue``;
``SHA256``/``SHA-256`` and ``PDQ`` are read, ``MD5``/``SHA1`` must agree with the fields,
others such as PhotoDNA are ignored). Key case does not matter, optional fields may be
missing or null, a UTF-8 or UTF-16 BOM is accepted. A Media with none of the four hashes is
a :class:`~verisight.matching.errors.MissingHashError`.

The file is read with ``ijson``'s event parser, one Media at a time, so memory does not grow
with the file. Time and memory stay linear in the file's size however long one field is: a JSON
string over 64 KiB is cut while reading (:mod:`._capped`), and a text field (``MediaID``,
``Series``, ``Comments``) keeps at most 4,096 characters, the last of them ``" [truncated]"``
when it was cut (:data:`._fields.MAX_TEXT_CHARS`). Invalid or truncated JSON, a top level that
is not an object, and a file without a ``value`` array are
:class:`~verisight.matching.errors.InvalidJSONError` (always fatal),
located by the JSON path being read.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any, BinaryIO

import ijson  # type: ignore[import-untyped, unused-ignore]

from verisight.matching.entry import BankEntry
from verisight.matching.errors import (
    InvalidFieldError,
    InvalidInputError,
    InvalidJSONError,
    Location,
    MissingHashError,
)
from verisight.matching.formats import _fields
from verisight.matching.formats._capped import CappedStrings
from verisight.matching.signals import HashType

Parsed = BankEntry | InvalidInputError

MAX_DEPTH = 64
"""Nesting deeper than this inside one Media is refused (no real export comes close)."""
_HASH_NAMES = {
    "md5": HashType.MD5,
    "sha1": HashType.SHA1,
    "sha256": HashType.SHA256,
    "pdq": HashType.PDQ,
}
_CASE_KEYS = {"caseid", "casenumber", "totalmediafiles", "sourceapplicationname"}
_MEDIA_KEYS = {"md5", "sha1", "alternativehashes", "mediaid", "photodna"}
_SCALARS = {"null", "boolean", "integer", "double", "number", "string"}


class _Events:
    """``ijson`` basic events, errors turned into :class:`InvalidJSONError` at :attr:`path`."""

    def __init__(self, stream: BinaryIO, source: str) -> None:
        capped = CappedStrings(stream, _fields.TRUNCATED.encode())
        self._events = ijson.basic_parse(io.BufferedReader(capped), use_float=True)
        self.source = source
        self.path = "$"

    def where(self, path: str | None = None) -> Location:
        return Location(self.source, path=path or self.path)

    def next(self) -> tuple[str, Any]:
        try:
            event, value = next(self._events)
        except StopIteration:
            raise InvalidJSONError("the JSON ends too early", self.where()) from None
        except ijson.JSONError as exc:
            raise InvalidJSONError(f"invalid JSON: {exc}", self.where()) from None
        except UnicodeDecodeError as exc:  # JSON text is UTF-8 (or UTF-16 with a BOM)
            raise InvalidJSONError(f"not {exc.encoding} text: {exc.reason}", self.where()) from None
        return str(event), value

    def finish(self) -> None:
        """Require the end of the input after the top-level value."""
        try:
            for _event in self._events:
                raise InvalidJSONError("content after the end of the JSON", self.where("$"))
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            raise InvalidJSONError(f"invalid JSON after the end: {exc}", self.where("$")) from None

    def value(self, event: str, value: Any) -> Any:
        """The whole JSON value that starts with ``(event, value)``, built iteratively."""
        if event in _SCALARS:
            return value
        stack: list[Any] = []
        keys: list[str | None] = []
        current: Any = {} if event == "start_map" else []
        key: str | None = None
        while True:
            event, value = self.next()
            if event == "map_key":
                key = value
                continue
            if event in ("start_map", "start_array"):
                if len(stack) >= MAX_DEPTH:
                    raise InvalidJSONError(f"nested deeper than {MAX_DEPTH} levels", self.where())
                stack.append(current)
                keys.append(key)
                current = {} if event == "start_map" else []
                continue
            if event in ("end_map", "end_array"):
                if not stack:
                    return current
                done, current, key = current, stack.pop(), keys.pop()
                value = done
            if isinstance(current, dict):
                current[key] = value
            else:
                current.append(value)


def parse_vics(stream: BinaryIO, *, source: str) -> Iterator[Parsed]:
    """Entries of a VICS JSON file (UTF-8 bytes; see the module docstring)."""
    events = _Events(stream, source)
    event, _ = events.next()
    if event != "start_map":
        raise InvalidJSONError("the top level is not a JSON object: not VICS", events.where())
    saw_value = False
    while True:
        events.path = "$"
        event, key = events.next()
        if event == "end_map":
            break
        events.path = f"$.{key}"
        event, value = events.next()
        if key.lower() == "value":
            if event != "start_array":
                raise InvalidJSONError("'value' is not an array", events.where())
            saw_value = True
            yield from _value_items(events, f"$.{key}")
        else:
            events.value(event, value)  # metadata and anything else: read past it
    events.finish()
    if not saw_value:
        raise InvalidJSONError("no 'value' array: not a VICS JSON file", events.where("$"))


def _value_items(events: _Events, base: str) -> Iterator[Parsed]:
    index = -1
    while True:
        events.path = f"{base}[{index + 1}]"
        event, value = events.next()
        if event == "end_array":
            return
        index += 1
        here = events.path
        if event != "start_map":
            events.value(event, value)
            yield InvalidFieldError("a 'value' item is not an object", events.where(here))
            continue
        item: dict[str, Any] = {}
        has_media = False
        while True:
            events.path = here
            event, key = events.next()
            if event == "end_map":
                break
            events.path = f"{here}.{key}"
            event, value = events.next()
            if key.lower() == "media" and event == "start_array":
                has_media = True
                yield from _media_items(events, f"{here}.{key}")
            else:
                item[key] = events.value(event, value)
        if has_media:
            continue
        lowered = {k.lower() for k in item}
        if lowered & _CASE_KEYS and not lowered & _MEDIA_KEYS:
            continue  # a case without Media
        yield media_entry(item, Location(events.source, path=here))


def _media_items(events: _Events, base: str) -> Iterator[Parsed]:
    index = -1
    while True:
        events.path = f"{base}[{index + 1}]"
        event, value = events.next()
        if event == "end_array":
            return
        index += 1
        media = events.value(event, value)
        where = events.where()
        if not isinstance(media, dict):
            yield InvalidFieldError("a Media entry is not an object", where)
            continue
        yield media_entry(media, where)


def media_entry(media: dict[str, Any], where: Location) -> Parsed:
    """One VICS Media object as an entry, or the first problem with it (located)."""
    fields = {key.lower(): (key, value) for key, value in media.items()}
    current = where.path or "$"

    def get(name: str) -> Any:
        nonlocal current
        key, value = fields.get(name, (name, None))
        current = f"{where.path}.{key}"
        return value

    try:
        hashes: dict[HashType, str] = {}
        for name in ("md5", "sha1"):
            value = _fields.text(get(name), name.upper())
            if value is not None:
                hashes[_HASH_NAMES[name]] = _fields.hash_in(_HASH_NAMES[name], value, name.upper())
        _alternative_hashes(get("alternativehashes"), hashes, current, where)
        current = where.path or "$"
        entry = BankEntry.from_hashes(
            hashes,
            category=_fields.category(get("category")),
            source_id=_fields.text(get("mediaid"), "MediaID"),
            series=_fields.text(get("series"), "Series"),
            victim_identified=_fields.boolean(get("victimidentified"), "VictimIdentified"),
            comments=_fields.text(get("comments"), "Comments"),
            location=where,
        )
    except InvalidInputError as exc:
        return exc if exc.location else exc.at(Location(where.source, path=current))
    if not hashes:
        return MissingHashError(
            "no MD5, SHA1, SHA256 or PDQ hash (PhotoDNA is not supported)", where
        )
    return entry


def _alternative_hashes(
    items: Any, hashes: dict[HashType, str], path: str, where: Location
) -> None:
    if items is None:
        return
    if not isinstance(items, list):
        raise InvalidFieldError(
            "AlternativeHashes is not an array", Location(where.source, path=path)
        )
    for i, item in enumerate(items):
        here = Location(where.source, path=f"{path}[{i}]")
        if not isinstance(item, dict):
            raise InvalidFieldError("an AlternativeHashes item is not an object", here)
        lowered = {key.lower(): value for key, value in item.items()}
        name = _fields.text(lowered.get("hashname"), "HashName")
        value = _fields.text(lowered.get("hashvalue"), "HashValue")
        kind = _HASH_NAMES.get(_fields.squash(name or ""))
        if kind is None or value is None:
            continue  # PhotoDNA and other hashes Verisight does not use
        try:
            found = _fields.hash_in(kind, value, f"HashName {name!r}")
        except InvalidInputError as exc:
            raise exc.at(here) from None
        if hashes.get(kind, found) != found:
            raise InvalidFieldError(f"two different {name} hashes for one Media", here)
        hashes[kind] = found

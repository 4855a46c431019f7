"""SQL for generator intelligence: media with generator metadata, their sighting times and
places, prompts for term matching, and hotline-supplied model aliases."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Table, delete, func, select

from verisight.store.db import insert_ignoring_conflicts
from verisight.store.schema import Media, ModelAlias, Scan, Sighting

_MEDIA: Table = Media.__table__  # type: ignore[assignment]
_SIGHTING: Table = Sighting.__table__  # type: ignore[assignment]
_SCAN: Table = Scan.__table__  # type: ignore[assignment]
_ALIAS: Table = ModelAlias.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class GeneratedMedia:
    sha256: str
    generator: dict[str, Any]
    first_seen: datetime | None
    last_seen: datetime | None
    #: Where it was seen: URL hosts for web captures, else the top-level file path.
    places: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Alias:
    hash: str
    name: str
    url: str | None
    kind: str | None


class IntelStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def generated_media(self) -> Iterator[GeneratedMedia]:
        """Every media whose provenance report carries a generator record."""
        seen_at = func.coalesce(_SIGHTING.c.captured_at, _SCAN.c.started_at)
        times = (
            select(
                _SIGHTING.c.media_sha256,
                func.min(seen_at).label("first"),
                func.max(seen_at).label("last"),
            )
            .select_from(_SIGHTING.join(_SCAN, _SIGHTING.c.scan_id == _SCAN.c.id))
            .group_by(_SIGHTING.c.media_sha256)
            .subquery()
        )
        q = (
            select(_MEDIA.c.sha256, _MEDIA.c.provenance_json, times.c.first, times.c.last)
            .select_from(_MEDIA.outerjoin(times, times.c.media_sha256 == _MEDIA.c.sha256))
            .where(_MEDIA.c.generator_tool.is_not(None))
            .order_by(_MEDIA.c.sha256)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
            places: dict[str, set[str]] = {}
            shas = [r.sha256 for r in rows]
            for i in range(0, len(shas), 900):
                for sha, url, chain in conn.execute(
                    select(_SIGHTING.c.media_sha256, _SIGHTING.c.url, _SIGHTING.c.chain).where(
                        _SIGHTING.c.media_sha256.in_(shas[i : i + 900])
                    )
                ):
                    place = _host(url) if url else json.loads(chain)[0]
                    places.setdefault(sha, set()).add(place)
        for r in rows:
            report = json.loads(r.provenance_json)
            yield GeneratedMedia(
                r.sha256,
                report.get("generator") or {},
                _utc(r.first),
                _utc(r.last),
                tuple(sorted(places.get(r.sha256, ()))),
            )

    def prompts(self) -> Iterator[tuple[str, str, str | None]]:
        """(sha256, normalised prompt, first sighting path) of media with a prompt."""
        first_path = (
            select(_SIGHTING.c.path)
            .where(_SIGHTING.c.media_sha256 == _MEDIA.c.sha256)
            .order_by(_SIGHTING.c.id)
            .limit(1)
            .scalar_subquery()
        )
        q = (
            select(_MEDIA.c.sha256, _MEDIA.c.generator_prompt, first_path)
            .where(_MEDIA.c.generator_prompt.is_not(None))
            .order_by(_MEDIA.c.sha256)
        )
        with self.engine.connect() as conn:
            yield from ((sha, prompt, path) for sha, prompt, path in conn.execute(q))

    def replace_aliases(self, aliases: Iterable[Alias]) -> int:
        rows = {a.hash: {"hash": a.hash, "name": a.name, "url": a.url, "kind": a.kind}
                for a in aliases}  # fmt: skip
        with self.engine.begin() as conn:
            conn.execute(delete(_ALIAS).where(_ALIAS.c.hash.in_(list(rows))))
            insert_ignoring_conflicts(conn, _ALIAS, list(rows.values()), "hash")
        return len(rows)

    def aliases(self) -> list[Alias]:
        with self.engine.connect() as conn:
            return [Alias(r.hash, r.name, r.url, r.kind) for r in conn.execute(select(_ALIAS))]


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or url


def _utc(value: datetime | None) -> datetime | None:
    from datetime import UTC

    if value is None:
        return None
    if isinstance(value, str):  # SQLite returns aggregates of timestamps as text
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

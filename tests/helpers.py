"""Test helpers: dump a case database's content for exact comparisons."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def dump_case(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every content row of a case, in a canonical order, without surrogate ids or times."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        media = conn.execute(sa.text("SELECT * FROM media ORDER BY sha256")).all()
        sightings = conn.execute(
            sa.text(
                "SELECT key, locator, path, chain, url, captured_at, media_sha256, status, "
                "reason, detail, depth, is_container, size, mtime_ns, scan_id "
                "FROM sighting ORDER BY key"
            )
        ).all()
        scans = conn.execute(sa.text("SELECT id, roots, status FROM scan ORDER BY id")).all()
    engine.dispose()
    return {
        "media": [tuple(r) for r in media],
        "sighting": [tuple(r) for r in sightings],
        "scan": [tuple(r) for r in scans],
    }

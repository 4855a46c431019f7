"""Reading a media's original bytes again from where a scan saw it.

A sighting names the scanned file it came from (the first link of its container chain), the
item's locator inside it and its depth (0: the file itself). :func:`read_originals` re-reads
many media at once: loose files directly, and each container walked **once** for all the
members wanted from it (a member is found by its locator, nested containers included). Every
candidate is checked against the media's SHA-256, so a file changed since the scan is never
taken for the original; what cannot be read again is returned with the reason.

Evidence exports (``--include-originals``) and the luma-grid backfill of the crop pass use it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from verisight.limits import Limits
from verisight.sources.walk import iter_items


@dataclass(frozen=True, slots=True)
class Place:
    """Where a scan saw a media: ``root``, the scanned file (the chain's first link);
    ``locator``, the item inside it; ``depth``, 0 for the file itself; ``path``, as shown."""

    root: Path
    locator: str
    depth: int
    path: str


@dataclass(frozen=True, slots=True)
class Original:
    """The outcome for one media: its bytes and where they were re-read, or ``None`` and why
    not (one reason per place tried, ``; ``-joined)."""

    sha256: str
    data: bytes | None
    how: str


def read_originals(
    wanted: Mapping[str, Sequence[Place]], limits: Limits | None = None
) -> Iterator[Original]:
    """One :class:`Original` per SHA-256 of ``wanted`` (places in order of preference):
    loose files first, then the containers, each walked once; order not guaranteed."""
    limits = limits or Limits()
    reasons: dict[str, list[str]] = {sha: [] for sha in wanted}
    done: set[str] = set()
    # container root -> locator -> (media, display path)
    members: dict[Path, dict[str, list[tuple[str, str]]]] = {}
    for sha, places in wanted.items():
        for p in places:
            if p.depth > 0:
                continue
            try:
                data = p.root.read_bytes()
            except OSError as exc:
                reasons[sha].append(f"{p.path}: cannot read ({exc.strerror or exc})")
                continue
            if hashlib.sha256(data).hexdigest() == sha:
                done.add(sha)
                yield Original(sha, data, f"re-read from {p.path}")
                break
            reasons[sha].append(f"{p.path}: content changed since the scan (SHA-256 differs)")
        if sha not in done:
            for p in places:
                if p.depth > 0:
                    members.setdefault(p.root, {}).setdefault(p.locator, []).append((sha, p.path))
    for root, by_locator in members.items():
        todo = {loc: [(s, path) for s, path in v if s not in done] for loc, v in by_locator.items()}
        todo = {loc: v for loc, v in todo.items() if v}
        if not todo:
            continue
        if not root.is_file():
            for v in todo.values():
                for s, path in v:
                    reasons[s].append(f"{path}: {root} is gone")
            continue
        seen: set[str] = set()
        for item in iter_items([root], limits):
            loc = item.provenance.locator
            if loc not in todo or loc in seen:
                continue
            seen.add(loc)
            payload: bytes | None = item.data
            if payload is None and item.path is not None:
                try:
                    payload = item.path.read_bytes()
                except OSError:
                    payload = None
            for s, path in todo[loc]:
                if s in done:
                    continue
                if payload is not None and hashlib.sha256(payload).hexdigest() == s:
                    done.add(s)
                    yield Original(s, payload, f"re-read from {path}")
                else:
                    reasons[s].append(f"{path}: content changed since the scan (SHA-256 differs)")
            if len(seen) == len(todo):
                break  # every member wanted from this container: stop walking it
        for loc, v in todo.items():
            if loc not in seen:
                for s, path in v:
                    reasons[s].append(f"{path}: not found again in {root}")
    for sha in wanted:
        if sha not in done:
            why = "; ".join(reasons[sha]) or "no sighting with a file to read"
            yield Original(sha, None, why)

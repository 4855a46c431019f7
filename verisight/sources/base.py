"""What a source yields: :class:`Item`, one per file-like thing found, with its provenance."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from verisight.errors import ItemError

#: Separator between the links of a provenance chain, as shown to people.
CHAIN_SEPARATOR = " › "


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where an item was seen.

    ``chain`` runs from the outermost file to the item, e.g.
    ``("/evidence/seized.zip", "inner.tar.gz", "photos/a.jpg")`` or
    ``("/crawls/june.warc.gz", "https://host/t/123/img.jpg")``. The first link is the
    absolute path of the file on disk.
    """

    chain: tuple[str, ...]
    #: The URL the payload was captured from (WARC-Target-URI), if any.
    url: str | None = None
    #: When it was captured (WARC-Date), timezone-aware UTC, if known.
    captured_at: datetime | None = None
    #: WARC-Record-ID of the record that carried it, if any.
    record_id: str | None = None

    @property
    def path(self) -> str:
        """The chain as people read it: ``seized.zip › inner.tar.gz › photos/a.jpg``."""
        return CHAIN_SEPARATOR.join(self.chain)

    @property
    def locator(self) -> str:
        """A unique identity for this place (the path, plus the WARC record id if any)."""
        return f"{self.path} #{self.record_id}" if self.record_id else self.path


@dataclass(frozen=True, slots=True)
class Item:
    """One file-like thing a source found.

    Content: at most one of ``path`` (a regular file on disk: read it from there) and
    ``data`` (in memory: an archive member, a WARC payload) is set. ``revisit_digest`` is set
    instead for a WARC ``revisit`` record: a new sighting of earlier content identified by its
    payload digest (``"sha1:BASE32"``).

    Outcome: the recorder hashes any content it is given (so even a bad file is identified),
    then the item is

    * **skipped** when ``skipped`` is true (``error`` then says why: a symlink leading outside
      the root, a non-media WARC response, an archive nested beyond the depth limit...);
    * **failed** when ``error`` is set (with content: e.g. a container that broke part-way;
      without content: an unsafe member name, an encrypted member, a bomb, an unreadable file);
    * otherwise handed to analysis, which may still fail it (corrupt image, ...).

    Containers (archives, WARC files) are items too: a source yields every member of a
    container first and the container itself last (``is_container``), so a recorded
    container means all of its members were recorded.
    """

    provenance: Provenance
    #: Nesting depth: 0 for a file on disk, 1 for a member of a top-level archive, ...
    depth: int = 0
    path: Path | None = None
    data: bytes | None = None
    revisit_digest: str | None = None
    error: ItemError | None = None
    skipped: bool = False
    #: True for a container whose members were yielded before it.
    is_container: bool = False
    #: Size in bytes as the source knows it (file size, member size), if known.
    size: int | None = None
    #: Modification time in ns for files on disk; lets a re-scan skip unchanged files.
    mtime_ns: int | None = None
    #: MIME type the source was told (HTTP Content-Type of a WARC response), if any.
    declared_mime: str | None = field(default=None)

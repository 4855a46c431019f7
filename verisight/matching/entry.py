"""One entry of a hash bank, as every format reads and writes it: :class:`BankEntry`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from verisight.matching.errors import Location
from verisight.matching.signals import HashType

VICS_CATEGORIES = range(0, 6)
"""The VICS categories Verisight knows (0–5); anything else is rejected as unknown."""


@dataclass(frozen=True, slots=True)
class BankEntry:
    """One known item: its hashes (canonical lowercase hex) and what the list says about it.

    At least one hash is set. ``category`` is a VICS category (0–5); ``source_id`` is the
    list's own identifier for the item (VICS ``MediaID``, a CSV ``id`` column);
    ``location`` says where in the file the entry came from (line or JSON path) and is
    not part of equality, so entries read from two formats compare equal.
    """

    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None
    label: str | None = None
    category: int | None = None
    source_id: str | None = None
    series: str | None = None
    victim_identified: bool | None = None
    comments: str | None = None
    #: For a vPDQ frame: its frame number and timestamp (seconds); the video is ``source_id``.
    frame: int | None = None
    timestamp: float | None = None
    location: Location | None = field(default=None, compare=False)

    @classmethod
    def from_hashes(
        cls,
        hashes: Mapping[HashType, str],
        *,
        pdq_quality: int | None = None,
        label: str | None = None,
        category: int | None = None,
        source_id: str | None = None,
        series: str | None = None,
        victim_identified: bool | None = None,
        comments: str | None = None,
        location: Location | None = None,
    ) -> BankEntry:
        """An entry from hashes by type and the other fields."""
        return cls(
            md5=hashes.get(HashType.MD5),
            sha1=hashes.get(HashType.SHA1),
            sha256=hashes.get(HashType.SHA256),
            pdq=hashes.get(HashType.PDQ),
            pdq_quality=pdq_quality if HashType.PDQ in hashes else None,
            label=label,
            category=category,
            source_id=source_id,
            series=series,
            victim_identified=victim_identified,
            comments=comments,
            location=location,
        )

    def hashes(self) -> dict[HashType, str]:
        """The hashes this entry has, by type."""
        found = {
            HashType.MD5: self.md5,
            HashType.SHA1: self.sha1,
            HashType.SHA256: self.sha256,
            HashType.PDQ: self.pdq,
        }
        return {kind: value for kind, value in found.items() if value is not None}

    def hash(self, kind: HashType) -> str | None:
        """This entry's hash of type ``kind``, if it has one."""
        return self.hashes().get(kind)

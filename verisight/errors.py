"""Errors.

Two kinds of failure exist in Verisight and they are kept apart:

* **Item failures** are facts about the input ("this file is a zip bomb"). They never raise
  out of a scan: they are recorded against the item as an :class:`ItemError` (a stable
  ``reason`` code from :class:`Reason` plus a human ``detail``) and the scan goes on.
* **Exceptions** are for things the user must fix (a bad option, an unreachable database).
  The hierarchy::

      VerisightError
      ├── CaseError            the case directory or database cannot be used
      │   └── MediaNotFound    no media with that hash in the case
      └── UsageError           an option or argument is invalid

  Inside the analysis and source layers, :class:`ItemFailure` carries an :class:`ItemError`
  up to the point where it is recorded; it never reaches a user.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Reason(StrEnum):
    """Stable reason codes for item failures and skips (used in the DB, JSON and reports)."""

    # failures: the item could not be (fully) analysed
    EMPTY_FILE = "empty-file"
    TRUNCATED = "truncated"
    CORRUPT_IMAGE = "corrupt-image"
    UNSUPPORTED_IMAGE = "unsupported-image"
    CORRUPT_VIDEO = "corrupt-video"
    UNSUPPORTED_VIDEO = "unsupported-video"
    VIDEO_TOO_LONG = "video-too-long"
    DECODE_TIMEOUT = "decode-timeout"
    DECOMPRESSION_BOMB = "decompression-bomb"
    ABSURD_DIMENSIONS = "absurd-dimensions"
    ZIP_BOMB = "zip-bomb"
    ENCRYPTED = "encrypted"
    UNSAFE_PATH = "unsafe-path"
    UNREADABLE = "unreadable"
    TOO_LARGE = "too-large"
    CORRUPT_ARCHIVE = "corrupt-archive"
    CORRUPT_WARC = "corrupt-warc"
    TOO_MANY_MEMBERS = "too-many-members"
    REVISIT_UNRESOLVED = "revisit-unresolved"
    INTERNAL = "internal-error"
    #: The analysis worker process died on this item, every time it was tried.
    WORKER_CRASH = "worker-crash"
    # skips: deliberately not analysed
    DEPTH_EXCEEDED = "archive-depth-exceeded"
    SYMLINK_OUTSIDE_ROOT = "symlink-outside-root"
    SPECIAL_FILE = "special-file"
    NOT_MEDIA = "warc-not-media"


@dataclass(frozen=True, slots=True)
class ItemError:
    """Why one item failed or was skipped: a stable code and a sentence for people."""

    reason: Reason
    detail: str

    def __str__(self) -> str:
        return f"{self.reason.value}: {self.detail}"


class ItemFailure(Exception):
    """Raised inside sources/media/analysis to carry an :class:`ItemError` to the recorder."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.error = ItemError(reason, detail)


class VerisightError(Exception):
    """Base of every exception Verisight raises to its callers."""


class CaseError(VerisightError):
    """The case directory or its database cannot be used."""


class MediaNotFound(CaseError):
    """No media with the given hash exists in the case."""


class UsageError(VerisightError):
    """An option or argument is invalid."""


class Forbidden(VerisightError):
    """The user's role does not allow this (the services check; the refusal is audited)."""

"""Recognising a bank file's format from its first bytes (``--format auto``).

Rules, applied to the first :data:`~verisight.matching.formats._source.HEAD_BYTES` after any
BOM, looking at the first line that is neither blank nor a ``#`` comment:

1. the first non-blank character is ``{``: **vics** (Project VIC JSON, v1 or v2);
2. the line starts with ``pdq`` and a space, or is ``<64 hex>,<integer>[,…]``: **pdq**
   (Meta's ``pdq <hex>`` and ``hash,quality[,filename]`` lines);
3. one of the line's comma-separated cells names a hash column (``md5``, ``sha1``,
   ``sha256``, ``pdq``, loosely: ``SHA-256`` counts): **csv**; a comma without such a
   header is an error (a CSV needs a header naming its hash columns);
4. the line is hex: **plain** (one hash per line, type by length; 64 digits must be
   declared with ``--format sha256`` or ``--format pdq``, see :mod:`verisight.matching.signals`);
5. anything else, or a file of only blanks and comments: **plain** if there is no data line
   at all, otherwise :class:`~verisight.matching.errors.UnknownFormatError` naming the line.
"""

from __future__ import annotations

import codecs
import re

from verisight.matching.errors import Location, UnknownFormatError
from verisight.matching.formats._fields import squash
from verisight.matching.formats._source import HEAD_BYTES, Source, open_source, source_name
from verisight.matching.signals import HashType

HASH_COLUMNS = frozenset({"md5", "sha1", "sha256", "pdq", "pdqhash"})
_HEX = re.compile(r"[0-9a-fA-F]+")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def detect_format(source: Source) -> str:
    """The format of a bank file: ``vics``, ``csv``, ``pdq`` or ``plain``.

    Reads only the first bytes. A file object is read from its current position and must
    be re-positioned (or re-opened) by the caller before parsing;
    :func:`~verisight.matching.formats.read_bank` does that itself.
    """
    with open_source(source) as (head, _stream):
        return sniff(head, source_name(source))


def sniff(head: bytes, source: str = "<input>") -> str:
    """The format of a file that starts with ``head`` (see the module docstring)."""
    text = _decode(head)
    if text.lstrip().startswith("{"):
        return "vics"
    lines = text.splitlines()
    if len(head) >= HEAD_BYTES and lines:
        lines = lines[:-1]  # the last line may be cut short
    from verisight.matching.vpdq import is_vpdq_line  # video support loads on use

    for lineno, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        lowered = stripped.lower()
        if lowered.startswith(("pdq ", "pdq\t")):
            return HashType.PDQ
        if is_vpdq_line(stripped):
            return "vpdq"
        cells = [cell.strip().strip('"').strip() for cell in stripped.split(",")]
        if len(cells) > 1 and _HEX64.fullmatch(cells[0]) and cells[1].isdigit():
            return HashType.PDQ
        if any(squash(cell) in HASH_COLUMNS for cell in cells):
            return "csv"
        if len(cells) > 1:
            raise UnknownFormatError(
                "comma-separated, but the first line names no hash column "
                "(a CSV bank needs a header with md5, sha1, sha256 or pdq)",
                Location(source, lineno),
            )
        if _HEX.fullmatch(stripped):
            return "plain"
        shown = stripped if len(stripped) <= 60 else stripped[:57] + "..."
        raise UnknownFormatError(
            f"not a hash list, CSV, PDQ list or VICS JSON: {shown!r}", Location(source, lineno)
        )
    return "plain"


def _decode(head: bytes) -> str:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", errors="replace")
    return head.removeprefix(codecs.BOM_UTF8).decode("utf-8", errors="replace")

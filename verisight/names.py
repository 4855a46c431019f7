"""Names from untrusted sources: one lossless form inside, raw bytes and escaped text outside.

Seized media is full of names that are not valid UTF-8: a file called ``bad\\xff.png``, a
tar member written in latin-1 (``caf\\xe9.png``), a zip whose UTF-8 flag lies. Such a name
must never stop a scan and must never be changed, because it is evidence.

Inside Verisight a name is a ``str`` in Python's *surrogateescape* form (PEP 383, the form
``os.listdir`` already returns): every byte that does not decode as UTF-8 is kept as one lone
surrogate U+DC80–U+DCFF. Sources produce this form (:func:`from_bytes`). Outside:

* :func:`to_bytes` gives the name's exact bytes: the lossless form, which a sighting's key
  is computed from and which the store keeps when the text form cannot be exact;
* :func:`escaped` gives readable text that any database and terminal accept: undecodable
  bytes as ``\\xff``, control characters (NUL, ESC, newline, ...) as ``\\x1b`` etc. It is for
  people; two different names may read alike, their bytes never do;
* :func:`json_text` gives JSON that is valid UTF-8 and still lossless (a lone surrogate
  becomes the JSON escape ``\\udcff``, which :func:`json.loads` turns back into the name).

>>> name = from_bytes(b"bad\\xff.png")
>>> to_bytes(name)
b'bad\\xff.png'
>>> escaped(name)
'bad\\\\xff.png'
>>> escaped("a\\x1b[31mred\\nline")
'a\\\\x1b[31mred\\\\nline'
"""

from __future__ import annotations

import json
import re
from typing import Any

#: Characters :func:`escaped` rewrites: C0 controls, DEL, C1 controls, lone surrogates, and
#: the Unicode controls that reorder text on screen (bidirectional overrides and isolates).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def from_bytes(raw: bytes) -> str:
    """The internal form of a name given as bytes that should be UTF-8."""
    return raw.decode("utf-8", "surrogateescape")


def to_bytes(name: str) -> bytes:
    """The exact bytes of a name in internal form; the inverse of :func:`from_bytes`, so
    distinct names have distinct bytes.

    Sources only make the internal form (a lone UTF-16 surrogate from a 7z becomes the bytes
    of its UTF-8 form); any other surrogate is encoded as itself (``surrogatepass``) so that
    no string can make this raise.
    """
    try:
        return name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return b"".join(
            c.encode("utf-8", "surrogateescape" if "\udc80" <= c <= "\udcff" else "surrogatepass")
            for c in name
        )


def _escape_one(match: re.Match[str]) -> str:
    c = match.group()
    if c in _NAMED:
        return _NAMED[c]
    code = ord(c)
    if 0xDC80 <= code <= 0xDCFF:  # one undecodable byte
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def escaped(text: str) -> str:
    """Readable, printable text for a name (or any untrusted string): see the module doc."""
    return _UNSAFE.sub(_escape_one, text)


def is_exact_text(name: str) -> bool:
    """Whether :func:`escaped` leaves ``name`` unchanged (its text form is exact)."""
    return _UNSAFE.search(name) is None


def json_text(obj: Any, **kwargs: Any) -> str:
    """``json.dumps(obj, ensure_ascii=False)`` that stays valid UTF-8 for names with
    undecodable bytes: lone surrogates are written as JSON ``\\udcXX`` escapes."""
    text = json.dumps(obj, ensure_ascii=False, **kwargs)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def stored_locator(text: str, raw: bytes | None) -> str:
    """A sighting's locator in internal form from its stored ``locator`` / ``locator_raw``."""
    return from_bytes(bytes(raw)) if raw is not None else text

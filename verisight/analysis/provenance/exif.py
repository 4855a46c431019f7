"""EXIF as provenance: camera facts, and the text fields generators write into EXIF.

* Camera: Make, Model, DateTimeOriginal, GPS (a latitude and a longitude present), Software.
* Generator text: UserComment (AUTOMATIC1111/Forge, Fooocus, SwarmUI, Civitai write their
  parameters there), ImageDescription, Software, a short MakerNote (Fooocus' scheme name), and
  the ``key:{json}`` strings ComfyUI writes into 0x0110 (Model, ``prompt:``) and 0x010F (Make,
  ``workflow:``) of WebP files. Those ComfyUI strings are never taken for a camera.

UserComment starts with an 8-byte character code: ``ASCII\\0\\0\\0``, ``UNICODE\\0`` (UTF-16;
AUTOMATIC1111 writes big-endian through piexif, other writers use the EXIF block's byte order,
so the byte order is taken from a BOM, else from where the zero bytes of ASCII text fall, else
from the EXIF header), ``JIS\\0\\0\\0\\0\\0`` or eight zero bytes (undefined). Invalid UTF-16 is
recorded as a parse problem and decoded with replacement characters.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from PIL import Image

from verisight.analysis.provenance.containers import TextEntry, decode_text
from verisight.analysis.provenance.model import CameraEvidence, ParseProblem

MAKE, MODEL, SOFTWARE, IMAGE_DESCRIPTION = 0x010F, 0x0110, 0x0131, 0x010E
EXIF_IFD, GPS_IFD = 0x8769, 0x8825
DATETIME_ORIGINAL, USER_COMMENT, MAKER_NOTE = 0x9003, 0x9286, 0x927C
_GPS_LATITUDE, _GPS_LONGITUDE = 2, 4
#: ComfyUI writes ``prompt:`` into 0x0110 and each extra_pnginfo key downwards from 0x010F.
_COMFY_TAGS = range(0x0100, 0x0111)
_COMFY_VALUE = re.compile(r"^\s*([A-Za-z_][\w\-]{0,40})\s*:\s*[\{\[]")
_DATETIME = re.compile(r"^\s*(\d{4})[:\-/](\d{2})[:\-/](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_SHORT = 200


@dataclass(slots=True)
class ExifFacts:
    camera: CameraEvidence | None = None
    texts: list[TextEntry] = field(default_factory=list)
    problems: list[ParseProblem] = field(default_factory=list)


def read_exif(raw: bytes | None, source: str, parsed: Image.Exif | None = None) -> ExifFacts:
    """Parse an EXIF block (TIFF structure, with or without ``Exif\\0\\0``); never raises.

    ``parsed`` is the decoder's EXIF of the same file. When it is not empty it is used instead
    of parsing ``raw`` again (its sub-IFDs are parsed once and cached, shared with the other
    users of the decoder's EXIF); it is the only source for formats whose EXIF the container
    walk does not reach.
    """
    facts = ExifFacts()
    with warnings.catch_warnings():  # Pillow warns on damaged EXIF; problems are recorded
        warnings.simplefilter("ignore")
        exif = parsed
        if raw is not None and not _has_tags(parsed):
            try:
                exif = Image.Exif()
                exif.load(raw)
            except Exception as exc:
                facts.problems.append(ParseProblem(source, f"EXIF unreadable: {exc}"[:300]))
                return facts
        if exif is None:
            return facts
        try:
            _collect(exif, source, facts, big_endian=raw is not None and raw[:2] == b"MM")
        except Exception as exc:  # damaged IFDs: keep what was read
            facts.problems.append(ParseProblem(source, f"EXIF partly unreadable: {exc}"[:300]))
    return facts


def _has_tags(exif: Image.Exif | None) -> bool:
    try:
        return exif is not None and len(exif) > 0
    except Exception:
        return False


def _collect(exif: Image.Exif, source: str, facts: ExifFacts, *, big_endian: bool) -> None:
    ifd0: dict[int, Any] = dict(exif.items())
    sub = _ifd(exif, EXIF_IFD)
    gps = _ifd(exif, GPS_IFD)
    comfy: set[int] = set()
    for tag in _COMFY_TAGS:
        value = ifd0.get(tag)
        if isinstance(value, bytes):
            value = decode_text(value)
        if isinstance(value, str) and (m := _COMFY_VALUE.match(value)):
            comfy.add(tag)
            facts.texts.append(
                TextEntry(
                    m.group(1),
                    value[value.index(":") + 1 :],
                    f"{source} 0x{tag:04X} {m.group(1)}",
                )
            )
    make = None if MAKE in comfy else _short(ifd0.get(MAKE))
    model = None if MODEL in comfy else _short(ifd0.get(MODEL))
    software = _short(ifd0.get(SOFTWARE))
    taken = normalise_datetime(sub.get(DATETIME_ORIGINAL) or ifd0.get(DATETIME_ORIGINAL))
    has_gps = _GPS_LATITUDE in gps and _GPS_LONGITUDE in gps
    if make or model or taken or has_gps:
        facts.camera = CameraEvidence(make, model, taken, has_gps, software)
    if software:
        facts.texts.append(TextEntry("Software", software, f"{source} Software"))
    desc = ifd0.get(IMAGE_DESCRIPTION)
    if IMAGE_DESCRIPTION not in comfy and isinstance(desc, str | bytes):
        text = (decode_text(desc) if isinstance(desc, bytes) else desc).strip("\x00 ")
        if text:
            facts.texts.append(TextEntry("ImageDescription", text, f"{source} ImageDescription"))
    note = sub.get(MAKER_NOTE, ifd0.get(MAKER_NOTE))  # Fooocus writes it (and more) into IFD0
    if isinstance(note, str):
        note = note.encode("utf-8", "replace")
    if isinstance(note, bytes) and 0 < len(note) <= 64 and note.isascii():
        text = note.decode("ascii").strip("\x00 ")
        if text.isprintable() and text:
            facts.texts.append(TextEntry("MakerNote", text, f"{source} MakerNote"))
    comment = sub.get(USER_COMMENT)
    if comment is None:
        comment = ifd0.get(USER_COMMENT)
    if isinstance(comment, bytes | str):
        text, problem = decode_user_comment(comment, big_endian=big_endian)
        where = f"{source} UserComment"
        if problem:
            facts.problems.append(ParseProblem(where, problem))
        if text:
            facts.texts.append(TextEntry("UserComment", text, where))


def _ifd(exif: Image.Exif, tag: int) -> dict[int, Any]:
    try:
        return dict(exif.get_ifd(tag))
    except Exception:
        return {}


def decode_user_comment(value: bytes | str, *, big_endian: bool = True) -> tuple[str, str | None]:
    """The text of a UserComment and, when it was damaged, why (never raises)."""
    if isinstance(value, str):
        return value.strip("\x00 \r\n"), None
    prefix, body = value[:8], value[8:]
    problem: str | None = None
    if prefix == b"UNICODE\x00":
        encoding = _utf16_order(body, big_endian)
        if body[:2] in (b"\xfe\xff", b"\xff\xfe"):
            body = body[2:]
        try:
            text = body.decode(encoding)
        except UnicodeDecodeError as exc:
            problem = f"invalid UTF-16 ({encoding}): {exc.reason} at byte {exc.start}"
            text = body.decode(encoding, "replace")
    elif prefix == b"ASCII\x00\x00\x00":
        text = decode_text(body)
    elif prefix == b"JIS\x00\x00\x00\x00\x00":
        text = body.decode("shift_jis", "replace")
    elif prefix == b"\x00" * 8:
        text = decode_text(body)
    else:  # no character code: some writers omit it
        text = decode_text(value)
    return text.strip("\x00 \r\n"), problem


def _utf16_order(body: bytes, big_endian: bool) -> str:
    if body[:2] == b"\xfe\xff":
        return "utf-16-be"
    if body[:2] == b"\xff\xfe":
        return "utf-16-le"
    sample = body[:512]
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    if even != odd:
        return "utf-16-be" if even > odd else "utf-16-le"
    return "utf-16-be" if big_endian else "utf-16-le"


def normalise_datetime(value: object) -> str | None:
    """``"2011:07:30 15:41:25"`` → ``"2011-07-30T15:41:25"``; None if not a real date-time."""
    text = _short(value)
    if text is None or (m := _DATETIME.match(text)) is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(g) for g in m.groups())
        parsed = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    return parsed.strftime("%Y-%m-%dT%H:%M:%S")


def _short(value: object) -> str | None:
    if isinstance(value, bytes):
        value = decode_text(value)
    if not isinstance(value, str):
        return None
    text = value.replace("\x00", " ").strip()
    return text[:_SHORT] or None

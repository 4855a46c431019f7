"""The interface every generator-metadata parser implements (one small class per tool).

A parser looks at the keyed texts of one file (:class:`Metadata`: PNG text chunks, EXIF and
XMP fields, a stealth payload) and returns one normalised
:class:`~verisight.analysis.provenance.model.GeneratorInfo`, or None when the file carries nothing
of its tool. Metadata it recognises but cannot read raises :class:`MetadataError`; the caller
records it as a parse problem and goes on with the other parsers. Example::

    class RedBicycleParser(GeneratorParser):
        tool = "RedBicycle"

        def parse(self, meta: Metadata, ctx: ParseContext) -> GeneratorInfo | None:
            entry = meta.get("redbicycle")
            if entry is None:
                return None
            params = ctx.json_object(entry)  # raises MetadataError when it is not JSON
            return ctx.info(self.tool, entry, model_name=params.get("model"))

Register the class in :data:`verisight.analysis.provenance.registry.PARSERS`.
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from verisight.analysis.provenance.containers import TextEntry
from verisight.analysis.provenance.limits import ProvenanceLimits
from verisight.analysis.provenance.model import GeneratorInfo, Lora, ParseProblem


class MetadataError(Exception):
    """Metadata of a known tool that cannot be read (bad JSON, a graph over a limit...)."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message


class Metadata:
    """The keyed texts of one file, in the order found."""

    def __init__(self, entries: Iterable[TextEntry]) -> None:
        self.entries = tuple(entries)

    def get(self, *keys: str) -> TextEntry | None:
        """The first entry whose key is one of ``keys``."""
        for entry in self.entries:
            if entry.key in keys:
                return entry
        return None

    def all(self, *keys: str) -> list[TextEntry]:
        return [e for e in self.entries if e.key in keys]

    def value(self, *keys: str) -> str | None:
        entry = self.get(*keys)
        return entry.value if entry else None


@dataclass(slots=True)
class ParseContext:
    """Limits, and problems that do not stop a parser (e.g. a bad optional chunk)."""

    limits: ProvenanceLimits
    problems: list[ParseProblem] = field(default_factory=list)

    def problem(self, source: str, message: str) -> None:
        self.problems.append(ParseProblem(source, message[:300]))

    def json_value(self, entry: TextEntry) -> Any:
        """The entry parsed as JSON; :class:`MetadataError` when it is not."""
        try:
            return json.loads(entry.value)
        except RecursionError:
            raise MetadataError(entry.source, "JSON nested too deeply") from None
        except ValueError as exc:
            raise MetadataError(entry.source, f"invalid JSON: {exc}"[:300]) from None

    def json_object(self, entry: TextEntry) -> dict[str, Any]:
        value = self.json_value(entry)
        if not isinstance(value, dict):
            raise MetadataError(entry.source, "JSON is not an object")
        return value

    def cut(self, text: object) -> str | None:
        """A prompt-like string, cut at the raw limit; None for non-strings."""
        if not isinstance(text, str):
            return None
        return text[: self.limits.max_raw_chars]

    def info(self, tool: str, entry: TextEntry, **fields: Any) -> GeneratorInfo:
        """A :class:`GeneratorInfo` whose ``source`` and ``raw`` come from ``entry``."""
        limit = self.limits.max_raw_chars
        for key in ("prompt", "negative_prompt"):
            if key in fields:
                fields[key] = self.cut(fields[key])
        for key, value in fields.items():  # NUL is not storable in PostgreSQL text or JSON
            if isinstance(value, str):
                fields[key] = _clean(value)
            elif key in ("models", "air"):
                fields[key] = tuple(_clean(str(v)) for v in value)
            elif key == "loras":
                fields[key] = tuple(
                    Lora(_clean(lo.name), _clean(lo.hash) if lo.hash else lo.hash, lo.weight)
                    for lo in value
                )
        if "seeds" not in fields and fields.get("seed") is not None:
            fields["seeds"] = (fields["seed"],)
        if "models" not in fields and fields.get("model_name"):
            fields["models"] = (fields["model_name"],)
        return GeneratorInfo(
            tool=tool,
            source=entry.source,
            raw=_clean(entry.value[:limit]),
            raw_truncated=len(entry.value) > limit,
            **fields,
        )


class GeneratorParser(ABC):
    """Reads one tool's generation metadata."""

    #: The tool name reported in ``GeneratorInfo.tool`` (a parser may refine it).
    tool: ClassVar[str]

    @abstractmethod
    def parse(self, meta: Metadata, ctx: ParseContext) -> GeneratorInfo | None:
        """One normalised record, or None when the file has nothing of this tool."""


def _clean(text: str) -> str:
    return text.replace("\x00", "") if "\x00" in text else text


def as_int(value: object) -> int | None:
    """An integer from JSON or text (``"42"``, ``42.0``); None otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            try:
                f = float(value.strip())
            except ValueError:
                return None
            return int(f) if f.is_integer() else None
    return None


def as_float(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def as_str(value: object) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None

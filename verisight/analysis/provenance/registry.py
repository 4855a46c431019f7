"""The one list of generator-metadata parsers, and running them over a file's metadata.

Order matters only for which record is *primary* when a file carries several (a ComfyUI
graph is more specific than an infotext a custom node also wrote); every record found is kept.
"""

from __future__ import annotations

from verisight.analysis.provenance.app_tools import (
    DrawThingsParser,
    InvokeAIParser,
    MidjourneyParser,
    NovelAIParser,
)
from verisight.analysis.provenance.base import (
    GeneratorParser,
    Metadata,
    MetadataError,
    ParseContext,
)
from verisight.analysis.provenance.model import GeneratorInfo
from verisight.analysis.provenance.sd_tools import (
    A1111Parser,
    CivitaiParser,
    ComfyUIParser,
    FooocusParser,
    SwarmUIParser,
)

#: Every parser, in order of precedence.
PARSERS: tuple[GeneratorParser, ...] = (
    ComfyUIParser(),
    A1111Parser(),
    FooocusParser(),
    SwarmUIParser(),
    CivitaiParser(),
    InvokeAIParser(),
    NovelAIParser(),
    DrawThingsParser(),
    MidjourneyParser(),
)


def run_parsers(
    meta: Metadata, ctx: ParseContext, parsers: tuple[GeneratorParser, ...] = PARSERS
) -> list[GeneratorInfo]:
    """Every record the parsers find; a parser's failure is a problem in ``ctx``, never raised."""
    found: list[GeneratorInfo] = []
    for parser in parsers:
        try:
            info = parser.parse(meta, ctx)
        except MetadataError as exc:
            ctx.problem(exc.source, exc.message)
            continue
        except Exception as exc:  # a parser bug must not lose the item or the other parsers
            ctx.problem(parser.tool, f"internal error: {type(exc).__name__}: {exc}")
            continue
        if info is not None:
            found.append(info)
    return found

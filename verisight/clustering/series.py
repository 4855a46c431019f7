"""Generation series: media made by the same generator run or from the same prompt.

A series is *related content*, not the same picture. It informs the analyst (these images
came from one seed, or one prompt); it never propagates a decision
(:mod:`verisight.clustering.propagation` refuses series).

Two media are linked when they share a generator **model and seed** (both declared), or the
same **normalised prompt** (Unicode NFKC, case-folded, whitespace collapsed; empty prompts
never link). A series is a connected component of those links with at least two members, so
each media is in at most one series; ``basis`` says which links made it. The representative
is the member with the smallest SHA-256 (series are for display; nothing is decided on it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from verisight.textnorm import normalise_text

SEED = "seed"
PROMPT = "prompt"


@dataclass(frozen=True, slots=True)
class GenerationInfo:
    """What the provenance step recorded about a media's generation."""

    sha256: str
    generator_model: str | None = None
    generator_seed: str | None = None
    generator_prompt: str | None = None


@dataclass(frozen=True, slots=True)
class Series:
    representative: str
    #: SHA-256s, sorted.
    members: tuple[str, ...]
    #: Which links made it: ``("prompt",)``, ``("seed",)`` or ``("prompt", "seed")``.
    basis: tuple[str, ...]


def normalise_prompt(prompt: str | None) -> str | None:
    """NFKC, case-folded, whitespace collapsed; ``None`` for an empty prompt."""
    if prompt is None:
        return None
    return normalise_text(prompt) or None


def group_series(media: Iterable[GenerationInfo]) -> list[Series]:
    """Series of two or more media, sorted by representative (pure, deterministic)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    first_by_key: dict[tuple[str, str, str], str] = {}
    links: dict[str, set[str]] = {}
    for m in media:
        parent.setdefault(m.sha256, m.sha256)
        keys: list[tuple[str, str, str]] = []
        if m.generator_model and m.generator_seed:
            keys.append((SEED, m.generator_model, m.generator_seed))
        prompt = normalise_prompt(m.generator_prompt)
        if prompt is not None:
            keys.append((PROMPT, prompt, ""))
        for key in keys:
            other = first_by_key.setdefault(key, m.sha256)
            if other != m.sha256:
                union(other, m.sha256)
                links.setdefault(m.sha256, set()).add(key[0])
                links.setdefault(other, set()).add(key[0])
    groups: dict[str, list[str]] = {}
    for sha in parent:
        groups.setdefault(find(sha), []).append(sha)
    result = []
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort()
        basis = sorted(set().union(*(links.get(s, set()) for s in members)))
        result.append(Series(members[0], tuple(members), tuple(basis)))
    result.sort(key=lambda s: s.representative)
    return result

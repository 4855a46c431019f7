"""Generator intelligence: which models and LoRAs are being used, and which prompts hit a
hotline's own term list.

* :func:`models` — every model and LoRA seen in generator metadata, with the number of media,
  first and last sighting (capture time, else scan time) and where they were seen, sorted by
  count; names come from the metadata, or from an imported alias when only a hash is known.
* :func:`match_terms` — case-insensitive, Unicode-normalised (NFKC), whole-word-and-phrase
  matching of a user-supplied term list against extracted prompts. Verisight ships no term list.
* :func:`import_models` — a CSV ``hash,name[,url][,kind]`` mapping model/LoRA hashes to names.
  A hash matches when either is a prefix of the other (A1111 writes the first 10 hex digits of
  a model's SHA-256 and 12 of a LoRA's; lists often carry the full digest).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from verisight.errors import UsageError
from verisight.store.intel import Alias, IntelStore
from verisight.textnorm import normalise_text

_HEX = re.compile(r"^[0-9a-f]{8,64}$")


@dataclass
class ModelUse:
    kind: str  # "model" | "lora"
    name: str | None
    hash: str | None
    media: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    places: set[str] = field(default_factory=set)
    alias: Alias | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name or (self.alias.name if self.alias else None),
            "hash": self.hash,
            "media": self.media,
            "first_seen": self.first_seen.isoformat() if self.first_seen else None,
            "last_seen": self.last_seen.isoformat() if self.last_seen else None,
            "sources": sorted(self.places),
            "alias": ({"name": self.alias.name, "url": self.alias.url} if self.alias else None),
        }


def _find_alias(h: str | None, aliases: list[Alias]) -> Alias | None:
    if not h:
        return None
    h = h.lower()
    for a in aliases:
        if a.hash.startswith(h) or h.startswith(a.hash):
            return a
    return None


def models(store: IntelStore) -> list[ModelUse]:
    aliases = store.aliases()
    uses: dict[tuple[str, str, str], ModelUse] = {}

    def add(kind: str, name: str | None, h: str | None, m: Any) -> None:
        if not name and not h:
            return
        key = (kind, (name or "").casefold(), (h or "").lower())
        use = uses.setdefault(key, ModelUse(kind, name, h, alias=_find_alias(h, aliases)))
        use.media += 1
        use.places.update(m.places)
        for t in (m.first_seen, m.last_seen):
            if t is not None:
                use.first_seen = t if use.first_seen is None else min(use.first_seen, t)
                use.last_seen = t if use.last_seen is None else max(use.last_seen, t)

    for m in store.generated_media():
        g = m.generator
        add("model", g.get("model_name"), g.get("model_hash"), m)
        for lora in g.get("loras") or []:
            add("lora", lora.get("name"), lora.get("hash"), m)
    return sorted(uses.values(), key=lambda u: (-u.media, u.kind, u.name or "", u.hash or ""))


def read_terms(path: Path) -> list[str]:
    """One term or phrase a line; ``#`` comments and blank lines ignored."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the term list {path}: {exc}") from exc
    terms = [normalise_text(x) for x in lines if x.strip() and not x.lstrip().startswith("#")]
    return sorted(set(t for t in terms if t))


def match_terms(store: IntelStore, terms: list[str]) -> Iterator[tuple[str, str | None, list[str]]]:
    """(sha256, first sighting path, terms hit) for every media whose prompt hits a term."""
    if not terms:
        return
    patterns = [(t, re.compile(r"(?<!\w)" + re.escape(t) + r"(?!\w)")) for t in terms]
    for sha, prompt, path in store.prompts():
        hits = [t for t, p in patterns if p.search(prompt)]
        if hits:
            yield sha, path, hits


def import_models(store: IntelStore, path: Path) -> int:
    """Read a ``hash,name[,url][,kind]`` CSV (header optional) and store the aliases."""
    aliases: list[Alias] = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for lineno, row in enumerate(csv.reader(fh), 1):
                if not row or row[0].strip().startswith("#"):
                    continue
                h = row[0].strip().lower()
                if lineno == 1 and h == "hash":
                    continue
                if not _HEX.match(h) or len(row) < 2 or not row[1].strip():
                    raise UsageError(f"{path}, line {lineno}: expected hash,name[,url][,kind]")
                url = row[2].strip() or None if len(row) > 2 else None
                kind = row[3].strip() or None if len(row) > 3 else None
                aliases.append(Alias(h, row[1].strip(), url, kind))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    return store.replace_aliases(aliases)

"""Sources: walk folders, archives and WARC captures, and yield :class:`Item` objects.

Sources never decode images and never touch the store. They may sniff a few header bytes
(via :mod:`verisight.media.sniff`) to recognise containers by content, not by extension.

Public API::

    from verisight.sources import iter_items, Item, Provenance
    for item in iter_items([Path("evidence")], Limits()):
        ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from verisight._lazy import lazy_exports
from verisight.sources.base import CHAIN_SEPARATOR, Item, Provenance

if TYPE_CHECKING:
    from verisight.sources.walk import iter_items

__all__ = ["CHAIN_SEPARATOR", "Item", "Provenance", "iter_items"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "iter_items": "verisight.sources.walk",
    },
)

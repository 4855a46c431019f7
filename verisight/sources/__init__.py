"""Sources: walk folders, archives and WARC captures, and yield :class:`Item` objects.

Sources never decode images and never touch the store. They may sniff a few header bytes
(via :mod:`verisight.media.sniff`) to recognise containers by content, not by extension.

Public API::

    from verisight.sources import iter_items, Item, Provenance
    for item in iter_items([Path("evidence")], Limits()):
        ...
"""

from verisight.sources.base import CHAIN_SEPARATOR, Item, Provenance

__all__ = ["CHAIN_SEPARATOR", "Item", "Provenance", "iter_items"]

from verisight.sources.walk import iter_items

"""Analysis: pure functions of an item's bytes → :class:`ItemRecord`.

No I/O beyond reading the item's own bytes, so the same code runs in-process, in a
process pool or on a cluster.

Public API::

    from verisight.analysis import analyse_bytes, analyse_path, ItemRecord
    record = analyse_bytes(data, Limits())
"""

from verisight.analysis.record import Camera, ItemRecord

__all__ = ["Camera", "ItemRecord", "analyse_bytes", "analyse_path"]

from verisight.analysis.analyse import analyse_bytes, analyse_path

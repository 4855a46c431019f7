"""Analysis: pure functions of an item's bytes → :class:`ItemRecord`.

No I/O beyond reading the item's own bytes, so the same code runs in-process, in a
process pool or on a cluster.

Public API::

    from verisight.analysis import analyse_bytes, analyse_path, ItemRecord
    record = analyse_bytes(data, Limits())

The analysis functions load on first use (decoders, numba kernels): importing
``verisight.analysis.record`` for its types costs nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from verisight._lazy import lazy_exports
from verisight.analysis.record import Camera, ItemRecord

if TYPE_CHECKING:
    from verisight.analysis.analyse import analyse_bytes, analyse_path

__all__ = ["Camera", "ItemRecord", "analyse_bytes", "analyse_path"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {"analyse_bytes": "verisight.analysis.analyse", "analyse_path": "verisight.analysis.analyse"},
)

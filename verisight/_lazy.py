"""Package exports that load on first use (PEP 562), so that importing a package for one
light name does not import every heavy sibling (decoders, numba kernels, SQLAlchemy).

A package lists its exports and where each lives, and imports them for type checkers only::

    if TYPE_CHECKING:
        from verisight.sources.walk import iter_items
    __getattr__, __dir__ = lazy_exports(__name__, {"iter_items": "verisight.sources.walk"})

``tests/test_startup.py`` checks that every lazy export resolves, and that ``verisight
--version`` loads none of the heavy modules.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``name`` comes from ``exports[name]``."""

    def __getattr__(name: str) -> Any:
        where = exports.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where), name)
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__

"""Store: the case database (SQLite by default, PostgreSQL by URL) and every SQL statement.

Public API::

    from verisight.store import Store, Status
    store = Store.open("sqlite:///case/verisight.db")
"""

from verisight.store import clusters as clusters  # its tables, for Alembic
from verisight.store import video as video  # its tables, for Alembic
from verisight.store.records import (
    KnownSighting,
    MediaView,
    NewSighting,
    ScanRecord,
    SightingView,
    Status,
)
from verisight.store.store import Store, sighting_key

__all__ = [
    "KnownSighting",
    "MediaView",
    "NewSighting",
    "ScanRecord",
    "SightingView",
    "Status",
    "Store",
    "sighting_key",
]

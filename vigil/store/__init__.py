"""Store: the case database (SQLite by default, PostgreSQL by URL) and every SQL statement.

Public API::

    from vigil.store import Store, Status
    store = Store.open("sqlite:///case/vigil.db")
"""

from vigil.store import clusters as clusters  # its tables, for Alembic
from vigil.store import video as video  # its tables, for Alembic
from vigil.store.records import (
    KnownSighting,
    MediaView,
    NewSighting,
    ScanRecord,
    SightingView,
    Status,
)
from vigil.store.store import Store, sighting_key

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

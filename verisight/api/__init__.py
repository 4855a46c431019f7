"""The platform API (``verisight api``): HMA's hash, match and curation endpoints over the
case's banks, API keys with scopes, Prometheus metrics, and an in-memory PDQ index that follows
the database so that several replicas can serve one PostgreSQL case.

It is a thin shell: the rules are in :mod:`verisight.curation` and :mod:`verisight.apikeys`,
reached through :class:`verisight.case.Case`; it holds no SQL and no analysis.
"""

from verisight.api.app import create_app
from verisight.api.deps import ApiSettings

__all__ = ["ApiSettings", "create_app"]

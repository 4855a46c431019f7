"""Verisight: take in, fingerprint and triage large media collections.

The public API is small on purpose:

* :class:`verisight.case.Case` — one case (a store plus its derived files); the CLI and the
  web app are thin shells over it.
* :class:`verisight.limits.Limits` — every safety limit a scan applies.
* :mod:`verisight.errors` — the exception hierarchy and the item-level failure reasons.
"""

__version__ = "0.1.0"

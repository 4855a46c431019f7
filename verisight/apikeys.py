"""API keys as a service: create (the key is shown once), list, revoke, authenticate.

A key is ``vs_`` + 43 URL-safe characters (256 random bits). The database holds its SHA-256
and its first 10 characters (shown in listings); a stolen database gives no usable key.
Scopes: ``lookup`` (match endpoints), ``hash`` (hash uploads), ``curate`` (change banks).
Creating and revoking a key is written to the audit log.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from verisight.errors import UsageError
from verisight.store.apikeys import ApiKeyStore, ApiKeyView
from verisight.store.audit import AuditLog

SCOPES = ("lookup", "hash", "curate")
PREFIX_LEN = 10


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key just created: ``key`` exists only here, never in the database."""

    view: ApiKeyView
    key: str


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    def __init__(self, store: ApiKeyStore, audit: AuditLog) -> None:
        self.store = store
        self.audit = audit

    def create(self, name: str, scopes: list[str], *, actor: str | None = None) -> NewKey:
        if not name or len(name) > 100:
            raise UsageError("a key's name must be 1 to 100 characters")
        bad = [s for s in scopes if s not in SCOPES]
        if bad or not scopes:
            raise UsageError(f"scopes must be some of: {', '.join(SCOPES)} (got {scopes})")
        clean = tuple(s for s in SCOPES if s in scopes)
        key = "vs_" + secrets.token_urlsafe(32)
        view = self.store.add(name, key[:PREFIX_LEN], key_hash(key), clean)
        self.audit.append(actor, "apikey-create", detail={"key": name, "scopes": list(clean)})
        return NewKey(view, key)

    def all(self) -> list[ApiKeyView]:
        return self.store.all()

    def revoke(self, name: str, *, actor: str | None = None) -> ApiKeyView:
        view = self.store.revoke(name)
        self.audit.append(actor, "apikey-revoke", detail={"key": name})
        return view

    def authenticate(self, key: str) -> ApiKeyView | None:
        """The active key ``key`` is, or None (unknown or revoked)."""
        if not key.startswith("vs_") or len(key) > 200:
            return None
        view = self.store.by_hash(key_hash(key))
        return view if view is not None and view.active else None

    def count_requests(self, counts: dict[int, int]) -> None:
        self.store.add_requests(counts)

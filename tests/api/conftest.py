"""Fixtures for the platform API: a case on SQLite and on PostgreSQL, keys of every scope, and
an in-process client (httpx over ASGI via Starlette's TestClient).

The index does not poll in these tests: ``client.refresh()`` follows the database on demand, so
nothing depends on timing (the replica test runs real processes and polls).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import jpeg_bytes
from verisight.api import ApiSettings, create_app
from verisight.case import Case

SCOPES = ("lookup", "hash", "curate")


class Api:
    """A TestClient with a key per scope set (``as_(...)``) and the app's index at hand."""

    def __init__(self, client: TestClient, keys: dict[str, str]) -> None:
        self.client = client
        self.keys = keys
        self.key = keys["all"]

    def headers(self, key: str | None = None) -> dict[str, str]:
        k = self.key if key is None else key
        return {"Authorization": f"Bearer {k}"} if k else {}

    def refresh(self) -> None:
        self.client.app.state.index.refresh()  # type: ignore[attr-defined]

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers=kw.pop("headers", self.headers()), **kw)

    def post(self, url: str, **kw: Any) -> Any:
        return self.client.post(url, headers=kw.pop("headers", self.headers()), **kw)

    def put(self, url: str, **kw: Any) -> Any:
        return self.client.put(url, headers=kw.pop("headers", self.headers()), **kw)

    def delete(self, url: str, **kw: Any) -> Any:
        return self.client.delete(url, headers=kw.pop("headers", self.headers()), **kw)

    def add_photo(self, bank: str, seed: int, **data: str) -> dict[str, Any]:
        r = self.post(
            f"/c/bank/{bank}/content",
            files={"photo": ("p.jpg", jpeg_bytes(seed), "image/jpeg")},
            data=data,
        )
        assert r.status_code == 200, r.text
        self.refresh()
        return dict(r.json())


@pytest.fixture
def case(tmp_path: Path, database_url: str) -> Iterator[Case]:
    c = Case(tmp_path / "case", database_url, create=True)
    yield c
    c.close()


@pytest.fixture
def settings() -> ApiSettings:
    return ApiSettings()


@pytest.fixture
def api(case: Case, settings: ApiSettings) -> Iterator[Api]:
    keys = {"all": case.api_keys.create("all", list(SCOPES)).key}
    for s in SCOPES:
        keys[s] = case.api_keys.create(f"only-{s}", [s]).key
    app = create_app(case, settings, follow=False)
    with TestClient(app) as client:
        yield Api(client, keys)

"""Fixtures for the web app: a scanned case of generated images, users of every role, and an
HTTP client (httpx over ASGI, via Starlette's TestClient) that logs in like a browser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from tests.conftest import write_images
from verisight.assessment import AssessmentService
from verisight.assessment.accounts import RateLimiter
from verisight.case import Case
from verisight.web import create_app

PASSWORD = "correct horse battery"
ROLES = ("admin", "analyst", "reviewer", "auditor")


@pytest.fixture
def case(tmp_path: Path, database_url: str) -> Iterator[Case]:
    write_images(tmp_path / "collection", 4)
    c = Case(tmp_path / "case", database_url, create=True)
    c.scan([tmp_path / "collection"], workers=1, cluster=False)
    yield c
    c.close()


@pytest.fixture
def service(case: Case) -> AssessmentService:
    # argon2id with small costs keeps the tests fast; production uses argon2-cffi's defaults
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    s = AssessmentService(case, limiter=RateLimiter(attempts=3, window=60), hasher=fast)
    for role in ROLES:
        s.accounts.add_user(role, role, PASSWORD)
    s.accounts.add_user("analyst2", "analyst", PASSWORD)
    return s


@pytest.fixture
def shas(case: Case) -> list[str]:
    return sorted(m.sha256 for m in case.media())


class Browser:
    """A TestClient that keeps cookies and knows the page's CSRF token."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def login(self, name: str, password: str = PASSWORD) -> int:
        page = self.client.get("/login")
        token = re.search(r'name="login_token" value="([^"]+)"', page.text)
        assert token
        r = self.client.post(
            "/login",
            data={"name": name, "password": password, "login_token": token.group(1)},
            follow_redirects=False,
        )
        if r.status_code == 303:
            home = self.client.get(r.headers["location"], headers={"accept": "text/html"})
            m = re.search(r'name="csrf-token" content="([^"]+)"', home.text)
            assert m, home.text[:500]
            self.csrf = m.group(1)
        return r.status_code

    def get(self, url: str, **kw: object) -> object:
        return self.client.get(url, headers={"accept": "text/html"}, **kw)  # type: ignore[arg-type]

    def post(self, url: str, data: dict[str, str] | None = None, csrf: bool = True) -> object:
        form = dict(data or {})
        if csrf:
            form["csrf"] = self.csrf
        return self.client.post(url, data=form, follow_redirects=False)


@pytest.fixture
def browser(service: AssessmentService) -> Iterator[Browser]:
    with TestClient(create_app(service), base_url="http://127.0.0.1") as client:
        yield Browser(client)


@pytest.fixture
def app_factory(service: AssessmentService) -> Iterator[object]:
    clients: list[TestClient] = []

    def make() -> Browser:
        c = TestClient(create_app(service), base_url="http://127.0.0.1")
        c.__enter__()
        clients.append(c)
        return Browser(c)

    yield make
    for c in clients:
        c.__exit__(None, None, None)


DECISION = {
    "outcome": "pseudo-photograph",
    "category": "C",
    "origin": "ai-photorealistic",
    "age_band": "14-15",
    "sex": "unidentified",
    "note": "neutral test note",
}


@pytest.fixture
def case_dir_url(case: Case) -> tuple[Path, str]:
    """The case directory and database URL, for driving the CLI on the same case."""
    return case.directory, case.database_url

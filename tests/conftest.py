"""Shared fixtures: case databases on SQLite and on the local PostgreSQL server, image
generators, and the path of the benign shared fixtures."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from PIL import Image

from verisight.demo import scene
from verisight.store.db import scratch_schema

REPO = Path(__file__).resolve().parent.parent
SHARED_TESTDATA = REPO.parent / "shared" / "testdata"

#: Admin URL of a PostgreSQL database the tests may create schemas in.
POSTGRES_URL = os.environ.get(
    "VERISIGHT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_reachable() -> str | None:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return f"{exc.__class__.__name__}: {exc}"


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    problem = _postgres_reachable()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(
                f"PostgreSQL is required in CI but unreachable at {POSTGRES_URL}: {problem}"
            )
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_URL} (set VERISIGHT_TEST_POSTGRES_URL)")
    return POSTGRES_URL


def fresh_schema(admin_url: str) -> AbstractContextManager[str]:
    """The URL of a fresh, empty schema in the test database; dropped afterwards."""
    return scratch_schema(admin_url, "verisight_t")


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty schema in the test database; dropped afterwards."""
    with fresh_schema(postgres_admin_url) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'case.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def shared_testdata() -> Path:
    if not SHARED_TESTDATA.is_dir():
        pytest.skip(f"benign shared fixtures not found at {SHARED_TESTDATA}")
    return SHARED_TESTDATA


def jpeg_bytes(seed: int, size: tuple[int, int] = (320, 240), quality: int = 90) -> bytes:
    buf = io.BytesIO()
    scene(seed, size).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def png_bytes(seed: int, size: tuple[int, int] = (320, 240)) -> bytes:
    buf = io.BytesIO()
    scene(seed, size).save(buf, "PNG")
    return buf.getvalue()


def write_images(folder: Path, count: int, start: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + count):
        p = folder / f"img-{i:04d}.jpg"
        p.write_bytes(jpeg_bytes(i))
        paths.append(p)
    return paths


__all__ = ["Image", "jpeg_bytes", "png_bytes", "write_images"]

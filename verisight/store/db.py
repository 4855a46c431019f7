"""Opening a case database: engine, SQLite pragmas, migrations, dialect-neutral upserts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from verisight.errors import CaseError

MIGRATIONS = Path(__file__).with_name("migrations")


def sqlite_url(case_dir: Path) -> str:
    return f"sqlite:///{(case_dir / 'verisight.db').resolve()}"


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL (crash-safe, readers never block the writer)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True)


def _alembic_config(conn: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the database schema to the newest migration (no-op when already there)."""
    try:
        with engine.begin() as conn:
            cfg = _alembic_config(conn)
            head = ScriptDirectory.from_config(cfg).get_current_head()
            current = MigrationContext.configure(conn).get_current_revision()
            if current != head:
                command.upgrade(cfg, "head")
    except SQLAlchemyError as exc:
        raise CaseError(f"cannot open the case database: {exc.__class__.__name__}: {exc}") from exc


def insert_ignoring_conflicts(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], key: str
) -> None:
    """``INSERT … ON CONFLICT (key) DO NOTHING`` for SQLite and PostgreSQL."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        pg = postgresql.insert(table).on_conflict_do_nothing(index_elements=[key])
        conn.execute(pg, list(rows))
    else:
        lite = sqlite.insert(table).on_conflict_do_nothing(index_elements=[key])
        conn.execute(lite, list(rows))

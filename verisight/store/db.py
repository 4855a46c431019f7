"""Opening a case database: engine, SQLite pragmas, migrations, dialect-neutral upserts, and
units of work.

A unit of work is one transaction that everything it writes shares (cf. Datasette's
``execute_write_fn``): :func:`begin` opens it, and each store role interface
(:class:`Bindable`) is :meth:`~Bindable.bind`-ed to its connection, so that a decision and its
audit entry commit together or not at all::

    with begin(engine) as conn:
        assessments.bind(conn).save(...)
        audit.bind(conn).append(...)

On SQLite :func:`begin` takes the write lock at once (``BEGIN IMMEDIATE``): the unit's reads
then see every committed write and no other writer can slip in before its own writes.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self, TypeVar

from sqlalchemy import Connection, Engine, Table, create_engine, event, inspect, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from verisight.errors import CaseError

MIGRATIONS = Path(__file__).with_name("migrations")
T = TypeVar("T")


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
    return create_engine(_psycopg(url), pool_pre_ping=True)


def _psycopg(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def make_read_engine(url: str, connections: int) -> Engine:
    """A PostgreSQL engine for hot reads of one statement each (the platform API's look-ups):
    every read costs one round trip and nothing else.

    The case's engine (:func:`make_engine`) pings each connection it hands out
    (``pool_pre_ping``: a round trip), reads in a transaction that returning the connection
    rolls back (another), and opens a new connection whenever more than 5 are busy, closing it
    after use (PostgreSQL starts a backend for each). Under load those were most of a look-up's
    time and all of its tail. This one runs in autocommit (a read sees every committed write,
    there is nothing to roll back), does not ping (:func:`read_retrying` reads again once on a
    connection found dead), and keeps exactly ``connections`` open: a caller beyond them waits
    for one to come back rather than opening another."""
    return create_engine(
        _psycopg(url), isolation_level="AUTOCOMMIT", pool_size=connections, max_overflow=0,
        pool_use_lifo=True,
    )  # fmt: skip


def read_retrying(engine: Engine, read: Callable[[Connection], T]) -> T:
    """``read`` on a connection of ``engine``, once more on a fresh connection if the first
    was found closed (PostgreSQL restarted, a proxy dropped it): what ``pool_pre_ping`` would
    have caught, without its round trip on every read. Only for reads, which can be repeated."""
    try:
        with engine.connect() as conn:
            return read(conn)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    with engine.connect() as conn:
        return read(conn)


def _alembic_config(conn: Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


#: The newest migration. Opening a case at this revision reads one row and never loads
#: Alembic (about a second of imports); ``tests/test_startup.py`` checks it is Alembic's head.
SCHEMA_HEAD = "0015_index_notify"


def schema_revision(conn: Connection) -> str | None:
    """The case's migration revision (``None`` for an empty database)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return str(rows[0]) if len(rows) == 1 else None


def migrate(engine: Engine) -> None:
    """Bring the database schema to the newest migration (no-op when already there)."""
    try:
        with engine.connect() as conn:
            if schema_revision(conn) == SCHEMA_HEAD:
                return
        from alembic import command
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        with engine.begin() as conn:
            cfg = _alembic_config(conn)
            head = ScriptDirectory.from_config(cfg).get_current_head()
            current = MigrationContext.configure(conn).get_current_revision()
            if current != head:
                command.upgrade(cfg, "head")
    except SQLAlchemyError as exc:
        raise CaseError(f"cannot open the case database: {exc.__class__.__name__}: {exc}") from exc


#: Rows from which :func:`insert_ignoring_conflicts` loads PostgreSQL with ``COPY``.
COPY_FROM_ROWS = 64


def insert_ignoring_conflicts(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], key: str
) -> None:
    """``INSERT … ON CONFLICT (key) DO NOTHING`` for SQLite and PostgreSQL.

    Large batches on PostgreSQL go through ``COPY`` into a temporary table and one
    ``INSERT … SELECT`` from it (:func:`_copy_ignoring_conflicts`): several times faster than
    a statement per row. SQLite runs one prepared statement over all rows (``executemany``).
    """
    if not rows:
        return
    if conn.dialect.name == "postgresql" and len(rows) >= COPY_FROM_ROWS:
        columns = list(rows[0])
        if _copyable(table, columns):
            _copy_ignoring_conflicts(conn, table, rows, columns, key)
            return
    if conn.dialect.name == "postgresql":
        pg = postgresql.insert(table).on_conflict_do_nothing(index_elements=[key])
        conn.execute(pg, list(rows))
    else:
        lite = sqlite.insert(table).on_conflict_do_nothing(index_elements=[key])
        conn.execute(lite, list(rows))


def _copyable(table: Table, columns: list[str]) -> bool:
    """Whether rows with ``columns`` need nothing from SQLAlchemy but their bind processors:
    every column they leave out is autoincremented or has no Python-side default."""
    given = set(columns)
    return given <= set(table.c.keys()) and all(
        c.name in given or c.default is None or c.autoincrement is True
        for c in table.c
        if not c.primary_key or c.name in given
    )


def _copy_ignoring_conflicts(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], columns: list[str], key: str
) -> None:
    """PostgreSQL: ``COPY`` the rows into a temporary table shaped like ``table``'s columns,
    then insert them in order, skipping those whose ``key`` is taken.

    The ``COPY`` is binary, typed by the temporary table's columns: no text to format here
    and parse there (a 4 KiB luma grid is 8 KiB of hex as text)."""
    procs: list[tuple[int, Callable[[Any], Any]]] = []
    for i, name in enumerate(columns):
        bind = table.c[name].type.bind_processor(conn.dialect)
        if bind is not None:
            procs.append((i, bind))
    cols = ", ".join(f'"{n}"' for n in columns)
    tmp = f'"_load_{table.name}"'
    cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(
            f"CREATE TEMPORARY TABLE {tmp} ON COMMIT DROP AS "
            f'SELECT {cols} FROM "{table.name}" WITH NO DATA'
        )
        cur.execute(f"SELECT {cols} FROM {tmp} LIMIT 0")
        types = [c.type_code for c in cur.description or ()]
        with cur.copy(f"COPY {tmp} ({cols}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(types)
            for row in rows:
                values = [row[n] for n in columns]
                for i, proc in procs:
                    values[i] = proc(values[i])
                copy.write_row(values)
        cur.execute(
            f'INSERT INTO "{table.name}" ({cols}) SELECT {cols} FROM {tmp} '
            f'ON CONFLICT ("{key}") DO NOTHING'
        )
        cur.execute(f"DROP TABLE {tmp}")
    finally:
        cur.close()


def prefer_fast_compression(conn: Connection) -> None:
    """PostgreSQL: compress the large values this transaction writes (luma grids) with
    ``lz4`` rather than the default ``pglz``, when the server has it (PostgreSQL 14+ built
    with lz4): about 5× less server time per grid, ~10 % larger. The choice is stored with
    each value, so values written either way read back the same. Elsewhere: nothing."""
    if conn.dialect.name != "postgresql":
        return
    engine = conn.engine
    has_lz4 = _LZ4.get(engine.url)
    if has_lz4 is None:
        has_lz4 = bool(
            conn.exec_driver_sql(
                "SELECT count(*) FROM pg_settings "
                "WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"
            ).scalar()
        )
        _LZ4[engine.url] = has_lz4
    if has_lz4:
        conn.exec_driver_sql("SET LOCAL default_toast_compression = lz4")


#: Whether the server behind a URL offers lz4 compression (asked once per URL).
_LZ4: dict[Any, bool] = {}


@contextmanager
def scratch_schema(admin_url: str, prefix: str) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL schema named ``prefix`` plus a random suffix, in
    the database of ``admin_url``; dropped with everything in it afterwards (tests, benches)."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in admin_url else "?"
        yield f"{admin_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def begin(engine: Engine) -> Iterator[Connection]:
    """One write transaction: committed when the block ends, rolled back if it raises.

    On SQLite it starts with ``BEGIN IMMEDIATE`` (waiting up to the busy timeout for another
    writer), so reads inside it are not overtaken by another writer's commit.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn


class Bindable:
    """Base of the store role interfaces: over an engine (each call its own transaction), or
    bound to the connection of a unit of work (every call joins that transaction)."""

    engine: Engine
    _conn: Connection | None = None

    def bind(self, conn: Connection) -> Self:
        """The same interface, running every statement on ``conn`` (never committing it)."""
        clone = copy.copy(self)
        clone._conn = conn
        return clone

    def unbound(self) -> Self:
        """The same interface over the engine (e.g. to read after the unit failed)."""
        clone = copy.copy(self)
        clone._conn = None
        return clone

    @property
    def bound(self) -> bool:
        return self._conn is not None

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        if self._conn is not None:
            yield self._conn
        else:
            with self.engine.connect() as conn:
                yield conn

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        if self._conn is not None:
            yield self._conn
        else:
            with self.engine.begin() as conn:
                yield conn

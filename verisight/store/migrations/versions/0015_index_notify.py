"""bank_entry / bank_change: NOTIFY verisight_index on PostgreSQL

Every statement that adds, changes or removes bank entries or appends to the change feed sends
``NOTIFY verisight_index`` with the table's schema as payload (once per transaction:
PostgreSQL folds identical notifications), so the replicas of ``verisight api`` follow at once,
whoever wrote (the API, ``verisight bank import``, the web app). SQLite has no NOTIFY: its
replicas poll.

Revision ID: 0015_index_notify
Revises: 0014_sso
Create Date: 2026-12-04 18:00:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0015_index_notify"
down_revision: str | Sequence[str] | None = "0014_sso"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("bank_entry", "bank_change")


def upgrade() -> None:
    """Upgrade schema."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE OR REPLACE FUNCTION verisight_index_notify() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('verisight_index', TG_TABLE_SCHEMA); "
        "RETURN NULL; END $$"
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION verisight_index_notify()"
        )


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify ON {table}")
    op.execute("DROP FUNCTION IF EXISTS verisight_index_notify()")

"""api_key, bank_setting, bank_content_state, bank_change: the platform API

Revision ID: 0011_api_keys
Revises: 0010_raw_names
Create Date: 2026-12-04 15:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from verisight.store.schema import UTCDateTime

# revision identifiers, used by Alembic.
revision: str = "0011_api_keys"
down_revision: str | Sequence[str] | None = "0010_raw_names"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_api_key_name")),
    )
    op.create_table(
        "bank_setting",
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("enabled_ratio", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_id"], ["bank.id"], name=op.f("fk_bank_setting_bank_id_bank"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("bank_id", name=op.f("pk_bank_setting")),
    )
    op.create_table(
        "bank_content_state",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("disable_until_ts", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.String(length=255), nullable=True),
        sa.Column("user_metadata", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["bank_entry.id"],
            name=op.f("fk_bank_content_state_entry_id_bank_entry"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_bank_content_state")),
    )
    op.create_table(
        "bank_change",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("op", sa.String(length=16), nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=True),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_bank_change")),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("bank_change")
    op.drop_table("bank_content_state")
    op.drop_table("bank_setting")
    op.drop_table("api_key")

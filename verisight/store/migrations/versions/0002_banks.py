"""banks and matches

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 21:22:31.086779

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from verisight.store.schema import UTCDateTime

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "bank",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("pdq_threshold", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank")),
        sa.UniqueConstraint("name", name=op.f("uq_bank_name")),
    )
    op.create_table(
        "bank_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("imported_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_id"], ["bank.id"], name=op.f("fk_bank_import_bank_id_bank"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_import")),
    )
    with op.batch_alter_table("bank_import", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bank_import_bank_id"), ["bank_id"], unique=False)

    op.create_table(
        "bank_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("md5", sa.String(length=32), nullable=True),
        sa.Column("sha1", sa.String(length=40), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("pdq", sa.String(length=64), nullable=True),
        sa.Column("pdq_quality", sa.Integer(), nullable=True),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("category", sa.Integer(), nullable=True),
        sa.Column("source_id", sa.Text(), nullable=True),
        sa.Column("series", sa.Text(), nullable=True),
        sa.Column("victim_identified", sa.Boolean(), nullable=True),
        sa.Column("comments", sa.Text(), nullable=True),
        sa.Column("extra", sa.Text(), nullable=True),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["bank_id"], ["bank.id"], name=op.f("fk_bank_entry_bank_id_bank"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["bank_import.id"],
            name=op.f("fk_bank_entry_import_id_bank_import"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_entry")),
        sa.UniqueConstraint("key", name=op.f("uq_bank_entry_key")),
    )
    with op.batch_alter_table("bank_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bank_entry_bank_id"), ["bank_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bank_entry_md5"), ["md5"], unique=False)
        batch_op.create_index(batch_op.f("ix_bank_entry_pdq"), ["pdq"], unique=False)
        batch_op.create_index(batch_op.f("ix_bank_entry_sha1"), ["sha1"], unique=False)
        batch_op.create_index(batch_op.f("ix_bank_entry_sha256"), ["sha256"], unique=False)

    op.create_table(
        "match",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("media_sha256", sa.String(length=64), nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("hash_type", sa.String(length=16), nullable=False),
        sa.Column("distance", sa.Integer(), nullable=False),
        sa.Column("variant", sa.String(length=16), nullable=True),
        sa.Column("matched_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_id"], ["bank.id"], name=op.f("fk_match_bank_id_bank"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["bank_entry.id"],
            name=op.f("fk_match_entry_id_bank_entry"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["media_sha256"], ["media.sha256"], name=op.f("fk_match_media_sha256_media")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match")),
        sa.UniqueConstraint("key", name=op.f("uq_match_key")),
    )
    with op.batch_alter_table("match", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_match_bank_id"), ["bank_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_match_entry_id"), ["entry_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_match_media_sha256"), ["media_sha256"], unique=False)

    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pdq_variants", sa.Text(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.drop_column("pdq_variants")

    with op.batch_alter_table("match", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_match_media_sha256"))
        batch_op.drop_index(batch_op.f("ix_match_entry_id"))
        batch_op.drop_index(batch_op.f("ix_match_bank_id"))

    op.drop_table("match")
    with op.batch_alter_table("bank_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bank_entry_sha256"))
        batch_op.drop_index(batch_op.f("ix_bank_entry_sha1"))
        batch_op.drop_index(batch_op.f("ix_bank_entry_pdq"))
        batch_op.drop_index(batch_op.f("ix_bank_entry_md5"))
        batch_op.drop_index(batch_op.f("ix_bank_entry_bank_id"))

    op.drop_table("bank_entry")
    with op.batch_alter_table("bank_import", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bank_import_bank_id"))

    op.drop_table("bank_import")
    op.drop_table("bank")

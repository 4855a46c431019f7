"""initial schema: scan, media, sighting

Revision ID: 0001
Revises:
Create Date: 2026-11-25 20:49:35.542337

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from verisight.store.schema import UTCDateTime

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "media",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("md5", sa.String(length=32), nullable=False),
        sa.Column("sha1", sa.String(length=40), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mime", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("pdq", sa.String(length=64), nullable=True),
        sa.Column("pdq_quality", sa.Integer(), nullable=True),
        sa.Column("exif_orientation", sa.Integer(), nullable=True),
        sa.Column("camera_make", sa.Text(), nullable=True),
        sa.Column("camera_model", sa.Text(), nullable=True),
        sa.Column("camera_taken", sa.String(length=32), nullable=True),
        sa.Column("error_reason", sa.String(length=40), nullable=True),
        sa.Column("error_detail", sa.Text(), nullable=True),
        sa.Column("has_thumbnail", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_media")),
    )
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_media_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_media_md5"), ["md5"], unique=False)
        batch_op.create_index(batch_op.f("ix_media_pdq"), ["pdq"], unique=False)
        batch_op.create_index(batch_op.f("ix_media_sha1"), ["sha1"], unique=False)

    op.create_table(
        "scan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("roots", sa.Text(), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scan")),
    )
    op.create_table(
        "sighting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("locator", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("chain", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("captured_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("media_sha256", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("is_container", sa.Boolean(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=True),
        sa.Column("scan_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["media_sha256"], ["media.sha256"], name=op.f("fk_sighting_media_sha256_media")
        ),
        sa.ForeignKeyConstraint(["scan_id"], ["scan.id"], name=op.f("fk_sighting_scan_id_scan")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sighting")),
        sa.UniqueConstraint("key", name=op.f("uq_sighting_key")),
    )
    with op.batch_alter_table("sighting", schema=None) as batch_op:
        batch_op.create_index("ix_sighting_locator", ["locator"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_sighting_media_sha256"), ["media_sha256"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_sighting_scan_id"), ["scan_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sighting_status"), ["status"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("sighting", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sighting_status"))
        batch_op.drop_index(batch_op.f("ix_sighting_scan_id"))
        batch_op.drop_index(batch_op.f("ix_sighting_media_sha256"))
        batch_op.drop_index("ix_sighting_locator")

    op.drop_table("sighting")
    op.drop_table("scan")
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_sha1"))
        batch_op.drop_index(batch_op.f("ix_media_pdq"))
        batch_op.drop_index(batch_op.f("ix_media_md5"))
        batch_op.drop_index(batch_op.f("ix_media_kind"))

    op.drop_table("media")

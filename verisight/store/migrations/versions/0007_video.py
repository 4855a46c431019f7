"""video and video frames (vPDQ features)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 22:03:47.770852

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "video",
        sa.Column("media_sha256", sa.String(length=64), nullable=False),
        sa.Column("duration", sa.Float(), nullable=True),
        sa.Column("fps", sa.Float(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("codec", sa.String(length=32), nullable=False),
        sa.Column("audio", sa.Boolean(), nullable=False),
        sa.Column("frame_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["media_sha256"], ["media.sha256"], name=op.f("fk_video_media_sha256_media")
        ),
        sa.PrimaryKeyConstraint("media_sha256", name=op.f("pk_video")),
    )
    op.create_table(
        "video_frame",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("media_sha256", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("t", sa.Float(), nullable=False),
        sa.Column("pdq", sa.String(length=64), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["media_sha256"],
            ["video.media_sha256"],
            name=op.f("fk_video_frame_media_sha256_video"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_video_frame")),
        sa.UniqueConstraint("media_sha256", "number", name=op.f("uq_video_frame_media_sha256")),
    )
    with op.batch_alter_table("video_frame", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_video_frame_media_sha256"), ["media_sha256"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_video_frame_pdq"), ["pdq"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("video_frame", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_video_frame_pdq"))
        batch_op.drop_index(batch_op.f("ix_video_frame_media_sha256"))

    op.drop_table("video_frame")
    op.drop_table("video")

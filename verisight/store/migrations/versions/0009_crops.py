"""media_luma: luma grids and layout keys for crop matching; cluster_member.match

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 23:45:44.703340

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "media_luma",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.Column("grid", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sha256"], ["media.sha256"], name=op.f("fk_media_luma_sha256_media")
        ),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_media_luma")),
    )
    with op.batch_alter_table("cluster_member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("match", sa.String(length=16), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("cluster_member", schema=None) as batch_op:
        batch_op.drop_column("match")
    op.drop_table("media_luma")

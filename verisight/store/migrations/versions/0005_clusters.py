"""near-duplicate clusters and generation series

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 21:40:22.403629

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from verisight.store.schema import UTCDateTime

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "cluster",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("representative_sha256", sa.String(length=64), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=16), nullable=True),
        sa.Column("basis", sa.String(length=32), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["representative_sha256"],
            ["media.sha256"],
            name=op.f("fk_cluster_representative_sha256_media"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cluster")),
    )
    with op.batch_alter_table("cluster", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cluster_kind"), ["kind"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_cluster_representative_sha256"), ["representative_sha256"], unique=False
        )

    op.create_table(
        "cluster_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cluster_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("media_sha256", sa.String(length=64), nullable=False),
        sa.Column("distance", sa.Integer(), nullable=True),
        sa.Column("added_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["cluster.id"],
            name=op.f("fk_cluster_member_cluster_id_cluster"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["media_sha256"], ["media.sha256"], name=op.f("fk_cluster_member_media_sha256_media")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cluster_member")),
        sa.UniqueConstraint("kind", "media_sha256", name=op.f("uq_cluster_member_kind")),
    )
    with op.batch_alter_table("cluster_member", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cluster_member_cluster_id"), ["cluster_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_cluster_member_media_sha256"), ["media_sha256"], unique=False
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("cluster_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cluster_member_media_sha256"))
        batch_op.drop_index(batch_op.f("ix_cluster_member_cluster_id"))

    op.drop_table("cluster_member")
    with op.batch_alter_table("cluster", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cluster_representative_sha256"))
        batch_op.drop_index(batch_op.f("ix_cluster_kind"))

    op.drop_table("cluster")

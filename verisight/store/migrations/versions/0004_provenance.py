"""media provenance

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 21:35:50.563204

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provenance", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("provenance_conflict", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("provenance_json", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("generator_tool", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("generator_model", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("generator_seed", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("generator_prompt", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("detector_score", sa.Float(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_media_generator_model"), ["generator_model"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_media_provenance"), ["provenance"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_provenance"))
        batch_op.drop_index(batch_op.f("ix_media_generator_model"))
        batch_op.drop_column("detector_score")
        batch_op.drop_column("generator_prompt")
        batch_op.drop_column("generator_seed")
        batch_op.drop_column("generator_model")
        batch_op.drop_column("generator_tool")
        batch_op.drop_column("provenance_json")
        batch_op.drop_column("provenance_conflict")
        batch_op.drop_column("provenance")

"""model aliases

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 21:50:53.314267

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "model_alias",
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_model_alias")),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("model_alias")

"""media.pdq_trimmed: PDQ of the content inside a uniform frame

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 22:15:50.889371

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pdq_trimmed", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.drop_column("pdq_trimmed")

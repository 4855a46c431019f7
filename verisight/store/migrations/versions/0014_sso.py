"""sso_identity: OpenID Connect identities (issuer, subject) linked to users

Revision ID: 0014_sso
Revises: 0012_password_change
Create Date: 2026-12-04 17:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from verisight.store.schema import UTCDateTime

# revision identifiers, used by Alembic.
revision: str = "0014_sso"
down_revision: str | Sequence[str] | None = "0012_password_change"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "sso_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_sso_identity_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_identity")),
        sa.UniqueConstraint("issuer", "subject", name=op.f("uq_sso_identity_issuer")),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("sso_identity")

"""model names keep their last version, so versions are never reused

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 04:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_names",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("last_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_model_names")),
    )
    # Backfill from the registry as it is (versions deleted before this cannot be known).
    op.execute(
        "INSERT INTO model_names (name, last_version) "
        "SELECT name, max(version) FROM models GROUP BY name"
    )


def downgrade() -> None:
    op.drop_table("model_names")

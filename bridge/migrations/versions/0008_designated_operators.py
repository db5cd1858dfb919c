"""operators designated in the store (the realm role alone is not believed)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 03:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bridge.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operateur_designe",
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("designated_at", bridge.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("designated_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_operateur_designe")),
    )


def downgrade() -> None:
    op.drop_table("operateur_designe")

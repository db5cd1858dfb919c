"""a person's account deleted or disabled in Keycloak, as the store follows it

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 06:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bridge.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("person") as table:
        table.add_column(
            sa.Column("deleted_at", bridge.db.UtcDateTime(timezone=True), nullable=True)
        )
        table.add_column(
            sa.Column("disabled_at", bridge.db.UtcDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("person") as table:
        table.drop_column("disabled_at")
        table.drop_column("deleted_at")

"""sessions ended by back-channel logout, shared by the replicas

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 12:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bridge.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_terminee",
        sa.Column("sid", sa.String(length=100), nullable=False),
        sa.Column("until", bridge.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_session_terminee")),
    )


def downgrade() -> None:
    op.drop_table("session_terminee")

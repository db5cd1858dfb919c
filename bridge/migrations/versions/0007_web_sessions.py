"""browser sessions kept on the server (the cookie carries an opaque token)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 03:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bridge.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_web",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("expires_at", bridge.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_session_web")),
    )
    op.create_index(op.f("ix_session_web_expires_at"), "session_web", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_session_web_expires_at"), table_name="session_web")
    op.drop_table("session_web")

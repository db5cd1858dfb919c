"""the disabled people, indexed: a batch of checks no longer reads every person

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("person") as batch_op:
        batch_op.create_index(
            "ix_person_disabled",
            ["subject"],
            unique=False,
            postgresql_where=sa.text("disabled_at IS NOT NULL"),
            sqlite_where=sa.text("disabled_at IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("person") as batch_op:
        batch_op.drop_index("ix_person_disabled")

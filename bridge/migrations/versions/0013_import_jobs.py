"""the back-office's import jobs: a long CSV imported in chunks, resumed after a restart

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 14:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bridge.db

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_job",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("demarche", sa.String(length=64), nullable=False),
        sa.Column("delimiter", sa.String(length=1), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("codes_issued", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.JSON(), nullable=False),
        sa.Column("letters", sa.JSON(), nullable=False),
        sa.Column("started_at", bridge.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", bridge.db.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_job")),
    )
    with op.batch_alter_table("import_job") as batch_op:
        batch_op.create_index("ix_import_job_finished_at", ["finished_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("import_job") as batch_op:
        batch_op.drop_index("ix_import_job_finished_at")
    op.drop_table("import_job")

"""the e-mails' queue: written with the change, sent after it, never lost

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 10:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bridge.db

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mail_queue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", bridge.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", bridge.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", bridge.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", bridge.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("failed_at", bridge.db.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_queue")),
    )
    with op.batch_alter_table("mail_queue") as batch_op:
        batch_op.create_index(
            "ix_mail_queue_due",
            ["next_attempt_at", "id"],
            unique=False,
            sqlite_where=sa.text("sent_at IS NULL AND failed_at IS NULL"),
            postgresql_where=sa.text("sent_at IS NULL AND failed_at IS NULL"),
        )
        batch_op.create_index("ix_mail_queue_recipient", ["recipient", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mail_queue") as batch_op:
        batch_op.drop_index("ix_mail_queue_recipient")
        batch_op.drop_index(
            "ix_mail_queue_due",
            sqlite_where=sa.text("sent_at IS NULL AND failed_at IS NULL"),
            postgresql_where=sa.text("sent_at IS NULL AND failed_at IS NULL"),
        )
    op.drop_table("mail_queue")

"""The projection's own tables: the outbox, the per-person claims of workers, and its state.

An outbox row says "this person's rights changed": it is written in the transaction of the
change, so a change is never committed without it (DESIGN §4). Workers apply the person's
*current* rights (level, not edge): replaying a row after a crash cannot resurrect a revoked
right, and several rows of one person are satisfied by one application.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from bridge.db import Base, UtcDateTime, now


class OutboxEntry(Base):
    __tablename__ = "sync_outbox"
    __table_args__ = (
        Index(
            "ix_sync_outbox_pending",
            "not_before",
            "id",
            sqlite_where=text("applied_at IS NULL AND failed_at IS NULL"),
            postgresql_where=text("applied_at IS NULL AND failed_at IS NULL"),
        ),
        Index("ix_sync_outbox_subject", "subject", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(64))
    # What changed, for people reading the queue: "accordee|revoquee|modifiee demarche:role:siret".
    change: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)
    not_before: Mapped[datetime] = mapped_column(UtcDateTime, default=now)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    applied_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    # How many times this row was marked applied: the fault tests show it is never above 1.
    applied_count: Mapped[int] = mapped_column(Integer, default=0)
    applied_by: Mapped[str | None] = mapped_column(String(100), default=None)
    failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)


class PersonClaim(Base):
    """One worker at a time projects a person: the primary key serialises the claim."""

    __tablename__ = "sync_claim"

    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    worker: Mapped[str] = mapped_column(String(100))
    until: Mapped[datetime] = mapped_column(UtcDateTime)


class SyncState(Base):
    """Small named values the projection keeps: admin-events cursor, last reconcile figures."""

    __tablename__ = "sync_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now, onupdate=now)

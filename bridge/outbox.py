"""The outbox: "this person's rights changed", written in the change's own transaction.

An outbox row is committed with the change or not at all (DESIGN §4); the projection's
workers (`bridge/sync/`) read it later and apply the person's *current* rights to Keycloak
(level, not edge: replaying a row after a crash cannot resurrect a revoked right, and several
rows of one person are satisfied by one application).

Business code never imports the projection: ORM changes of a `Projected` object (a
habilitation granted, modified, revoked or deleted) are caught by a `before_flush` hook that
the bootstrap installs on its own session factory (`install`), so no service can forget; the
few bulk `UPDATE` statements return the rows they touched and call `enqueue_rows`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, event, text
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

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


class Projected:
    """Marks the models whose changes Keycloak must see: a right with `subject`, `demarche`,
    `role`, `siret` and `revoked_at` columns (named in the queue by `label`)."""


def label(demarche: str, role: str, siret: str) -> str:
    """How a right is named in the queue: its Keycloak value `demarche:role:siret`."""
    return f"{demarche}:{role}:{siret}"


def enqueue(session: Session, subject: str, change: str) -> None:
    """Ask the workers to project `subject`'s current rights onto Keycloak."""
    session.add(OutboxEntry(subject=subject, change=change[:200]))


def enqueue_rows(session: Session, verb: str, rows: Iterable[Any]) -> None:
    """Outbox rows for habilitations changed by a bulk statement (`RETURNING` rows)."""
    for row in rows:
        enqueue(session, row.subject, f"{verb} {label(row.demarche, row.role, row.siret)}")


def _changes(session: Session, _context: Any, _instances: Any) -> None:
    for item in session.new:
        if isinstance(item, Projected):
            _record(session, item, "accordee")
    for item in session.dirty:
        if isinstance(item, Projected) and session.is_modified(item):
            _record(session, item, "modifiee")
    for item in session.deleted:
        if isinstance(item, Projected):
            _record(session, item, "supprimee")


def _record(session: Session, item: Any, verb: str) -> None:
    if verb == "modifiee" and item.revoked_at is not None:
        verb = "revoquee"
    enqueue(session, item.subject, f"{verb} {label(item.demarche, item.role, item.siret)}")


def install(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Write the outbox rows of every change made through `sessions` (idempotent)."""
    if not event.contains(sessions, "before_flush", _changes):
        event.listen(sessions, "before_flush", _changes)
    return sessions

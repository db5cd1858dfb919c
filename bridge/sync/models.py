"""The projection's own tables: the per-person claims of workers, and its state.

The outbox itself is one floor down (`bridge/outbox.py`): business changes write it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bridge.db import Base, UtcDateTime, now


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

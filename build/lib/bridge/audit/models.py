"""One row per change, written in the same transaction as the change itself."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from bridge.db import Base, UtcDateTime, now


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=now, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(64), default=None)
    siret: Mapped[str | None] = mapped_column(String(14), default=None, index=True)
    demarche: Mapped[str | None] = mapped_column(String(64), default=None)
    client_ip: Mapped[str | None] = mapped_column(String(45), default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

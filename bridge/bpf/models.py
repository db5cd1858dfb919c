"""A BPF per SIRET and financial year, and the history of who saved or submitted it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bridge.db import Base, UtcDateTime, now


class BpfStatus(StrEnum):
    DRAFT = "brouillon"
    SUBMITTED = "depose"


class Bpf(Base):
    __tablename__ = "bpf"
    __table_args__ = (UniqueConstraint("siret", "exercice"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    siret: Mapped[str] = mapped_column(ForeignKey("etablissement.siret"))
    exercice: Mapped[int] = mapped_column(Integer)
    status: Mapped[BpfStatus] = mapped_column(String(16), default=BpfStatus.DRAFT)
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Optimistic locking: a save or a submission names the version it started from.
    version: Mapped[int] = mapped_column(Integer, default=0)
    receipt_number: Mapped[str | None] = mapped_column(String(40), unique=True, default=None)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class BpfSave(Base):
    """One save or submission: who, when, and for whom when a tiers acted."""

    __tablename__ = "bpf_save"

    id: Mapped[int] = mapped_column(primary_key=True)
    bpf_id: Mapped[int] = mapped_column(ForeignKey("bpf.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))  # "enregistrement" | "depot"
    version: Mapped[int] = mapped_column(Integer)
    by_subject: Mapped[str] = mapped_column(String(64))
    by_name: Mapped[str] = mapped_column(String(200))
    # The tiers' own SIRET when the person acted through a delegation ("pour le compte de").
    tiers_siret: Mapped[str | None] = mapped_column(String(14), default=None)
    saved_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)
    changed: Mapped[list[str]] = mapped_column(JSON, default=list)

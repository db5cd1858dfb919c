"""Establishments, their activation codes (hashed), and the attempts made with them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bridge.db import Base, UtcDateTime, now


class Etablissement(Base):
    __tablename__ = "etablissement"

    siret: Mapped[str] = mapped_column(String(14), primary_key=True)
    siren: Mapped[str] = mapped_column(String(9), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class ActivationCode(Base):
    """A code sent by post; only its keyed hash is stored, it works once, then never again."""

    __tablename__ = "activation_code"
    __table_args__ = (Index("ix_activation_code_siret_demarche", "siret", "demarche"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    siret: Mapped[str] = mapped_column(ForeignKey("etablissement.siret"))
    demarche: Mapped[str] = mapped_column(String(64))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    used_by: Mapped[str | None] = mapped_column(String(64), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class CodeAttempt(Base):
    """Each try of a code, kept to lock out guessing per SIRET and per person."""

    __tablename__ = "code_attempt"
    __table_args__ = (
        Index("ix_code_attempt_siret_at", "siret", "at"),
        Index("ix_code_attempt_subject_at", "subject", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    siret: Mapped[str] = mapped_column(String(14))
    subject: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)
    success: Mapped[bool] = mapped_column(default=False)


class ImportJob(Base):
    """A CSV import started from the back-office, done in chunks by the portal's loop.

    `done` rows are imported: each chunk moves it in the same transaction as its rows, so a
    restart resumes after the last committed chunk and nothing is imported twice. The codes
    are not here (never stored in clear): `letters` names the SIRETs a code was issued to.
    """

    __tablename__ = "import_job"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    actor: Mapped[str] = mapped_column(String(64))
    demarche: Mapped[str] = mapped_column(String(64))
    delimiter: Mapped[str] = mapped_column(String(1))
    rows: Mapped[list[Any]] = mapped_column(JSON)  # [[line, {"siret": …, …}], …]
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    codes_issued: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [[line, raw, reason]]
    letters: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [[siret, name]]
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None, index=True)

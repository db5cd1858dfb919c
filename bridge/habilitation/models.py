"""Habilitations with their provenance, and access requests to a SIRET's gestionnaires."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from bridge.db import Base, UtcDateTime, now
from bridge.outbox import Projected


class GrantedHow(StrEnum):
    """Where a right comes from (DESIGN §3: every right says where it comes from)."""

    ACTIVATION_CODE = "code-activation"
    REQUEST_APPROVED = "demande-approuvee"
    GESTIONNAIRE = "gestionnaire"
    DELEGATION = "delegation"
    OPERATOR = "operateur"
    CONSOLE = "console"


class Habilitation(Base, Projected):
    """Person `subject` holds `role` of `demarche` on `siret`, from `granted_at` until revoked/ended."""

    __tablename__ = "habilitation"
    __table_args__ = (
        Index("ix_habilitation_check", "subject", "demarche", "siret"),
        Index("ix_habilitation_siret_demarche", "siret", "demarche"),
        Index(
            "uq_habilitation_active",
            "subject",
            "demarche",
            "siret",
            "role",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(ForeignKey("person.subject"))
    demarche: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(64))
    siret: Mapped[str] = mapped_column(ForeignKey("etablissement.siret"))
    granted_how: Mapped[GrantedHow] = mapped_column(String(32))
    granted_by: Mapped[str | None] = mapped_column(String(64), default=None)
    granted_by_name: Mapped[str] = mapped_column(String(200), default="")
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    on_behalf_of_siret: Mapped[str | None] = mapped_column(String(14), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    revoked_by: Mapped[str | None] = mapped_column(String(64), default=None)

    def active_at(self, moment: datetime) -> bool:
        return self.revoked_at is None and (self.valid_until is None or self.valid_until > moment)


class RequestStatus(StrEnum):
    PENDING = "en-attente"
    APPROVED = "approuvee"
    REFUSED = "refusee"
    WITHDRAWN = "retiree"


class AccessRequest(Base):
    """A person asks the gestionnaires of a SIRET for a role in a démarche."""

    __tablename__ = "access_request"
    __table_args__ = (
        Index(
            "uq_access_request_pending",
            "subject",
            "demarche",
            "siret",
            unique=True,
            sqlite_where=text("status = 'en-attente'"),
            postgresql_where=text("status = 'en-attente'"),
        ),
        Index("ix_access_request_siret_demarche", "siret", "demarche", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(ForeignKey("person.subject"))
    demarche: Mapped[str] = mapped_column(String(64))
    siret: Mapped[str] = mapped_column(ForeignKey("etablissement.siret"))
    wished_role: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[RequestStatus] = mapped_column(String(16), default=RequestStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    decided_by: Mapped[str | None] = mapped_column(String(64), default=None)
    decided_role: Mapped[str | None] = mapped_column(String(64), default=None)
    reason: Mapped[str | None] = mapped_column(String(500), default=None)

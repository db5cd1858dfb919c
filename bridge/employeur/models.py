"""Organisations created by the operator, their units, and the professional details of
the people they employ as gestionnaires (whose rights are ordinary habilitations)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bridge.db import Base, UtcDateTime, now


class Organisation(Base):
    """An establishment (SIRET) opened to an employer démarche, with its type from the catalog."""

    __tablename__ = "organisation"

    siret: Mapped[str] = mapped_column(ForeignKey("etablissement.siret"), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)
    created_by: Mapped[str] = mapped_column(String(64))


class Unite(Base):
    """A free label that helps find gestionnaires; it never limits what they may reach."""

    __tablename__ = "unite"
    __table_args__ = (UniqueConstraint("siret", "key", name="uq_unite_siret_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    siret: Mapped[str] = mapped_column(ForeignKey("organisation.siret"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(100))  # folded name: « Paie » and « paie » are one
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class Gestionnaire(Base):
    """Professional details of a person appointed in an organisation (one account each).

    The login id is the Keycloak username generated at creation; `role` is the role the
    person holds (or held, while deactivated) in the organisation's démarche.
    """

    __tablename__ = "gestionnaire"
    id: Mapped[int] = mapped_column(primary_key=True)
    siret: Mapped[str] = mapped_column(ForeignKey("organisation.siret"), index=True)
    subject: Mapped[str] = mapped_column(ForeignKey("person.subject"), unique=True)
    demarche: Mapped[str] = mapped_column(String(64))
    login_id: Mapped[str] = mapped_column(String(64), unique=True)
    civility: Mapped[str] = mapped_column(String(20))
    landline: Mapped[str | None] = mapped_column(String(30), default=None)
    mobile: Mapped[str | None] = mapped_column(String(30), default=None)
    unite_id: Mapped[int | None] = mapped_column(ForeignKey("unite.id"), default=None)
    level: Mapped[str | None] = mapped_column(String(64), default=None)
    role: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)
    created_by: Mapped[str] = mapped_column(String(64))

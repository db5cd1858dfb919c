"""A delegation: a gestionnaire lets a tiers act with one role on one of its SIRETs.

The invitation link's token is stored as a SHA-256 digest only (it is 256 random bits, so
a plain digest suffices), works once, expires, and is bound to the invited e-mail.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bridge.db import Base, UtcDateTime, now


class DelegationStatus(StrEnum):
    INVITED = "invitee"
    ACCEPTED = "acceptee"
    DECLINED = "refusee"
    REVOKED = "revoquee"
    EXPIRED = "expiree"


class Delegation(Base):
    __tablename__ = "delegation"
    __table_args__ = (
        Index("ix_delegation_delegator", "delegator_siret", "demarche"),
        Index("ix_delegation_tiers_email", "tiers_email", "status"),
        Index("ix_delegation_token", "token_hash", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    demarche: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(64))
    delegator_siret: Mapped[str] = mapped_column(ForeignKey("etablissement.siret"))
    tiers_siret: Mapped[str] = mapped_column(String(14))
    tiers_email: Mapped[str] = mapped_column(String(254))
    invited_by: Mapped[str] = mapped_column(String(64))
    invited_by_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    status: Mapped[DelegationStatus] = mapped_column(String(16), default=DelegationStatus.INVITED)
    token_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    token_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    accepted_by: Mapped[str | None] = mapped_column(String(64), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    habilitation_id: Mapped[int | None] = mapped_column(ForeignKey("habilitation.id"), default=None)
    ended_by: Mapped[str | None] = mapped_column(String(64), default=None)
    warned_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)

"""API shapes of delegations (French field names, as the guide's screens)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Literal

from pydantic import BaseModel, Field

from bridge.delegation.models import Delegation
from bridge.delegation.service import DelegationDraft

PARIS_END_OF_DAY = time(23, 59, 59)


class DelegationIn(BaseModel):
    siret_tiers: str = Field(max_length=40, description="SIRET du tiers-déclarant")
    email: str = Field(max_length=254, description="Adresse e-mail du tiers")
    role: str = Field(max_length=64)
    siret_habilitation: str = Field(max_length=40, description="Lequel de vos SIRET")
    fin: date | None = Field(default=None, description="Fin d'habilitation (incluse)")


class RecapOut(BaseModel):
    objet: str
    message: str
    email: str
    role: str
    siret_habilitation: str
    siret_tiers: str
    fin: datetime | None

    @classmethod
    def of(cls, draft: DelegationDraft) -> RecapOut:
        return cls(
            objet=draft.subject,
            message=draft.message,
            email=draft.tiers_email,
            role=draft.role,
            siret_habilitation=draft.delegator_siret,
            siret_tiers=draft.tiers_siret,
            fin=draft.valid_until,
        )


class DelegationOut(BaseModel):
    id: int
    demarche: str
    role: str
    siret_habilitation: str
    siret_tiers: str
    email: str
    statut: str
    fin: datetime | None
    invitation_expire_le: datetime | None
    # Right after an invitation: « envoye » once the e-mail left, « en-attente » while the
    # queue still holds it (it leaves as soon as the mail server answers).
    courriel: Literal["envoye", "en-attente"] | None = None

    @classmethod
    def of(cls, d: Delegation) -> DelegationOut:
        return cls(
            id=d.id,
            demarche=d.demarche,
            role=d.role,
            siret_habilitation=d.delegator_siret,
            siret_tiers=d.tiers_siret,
            email=d.tiers_email,
            statut=str(d.status),
            fin=d.valid_until,
            invitation_expire_le=d.token_expires_at,
        )


class DelegationChangeIn(BaseModel):
    role: str = Field(max_length=64)
    fin: date | None = None


class AcceptManyIn(BaseModel):
    invitations: list[int] = Field(min_length=1, max_length=1000)


class ClientOut(BaseModel):
    demarche: str
    role: str
    siret: str
    raison_sociale: str
    pour_le_compte_de: str | None
    fin: datetime | None


class PortfolioOut(BaseModel):
    total: int
    page: int
    clients: list[ClientOut]

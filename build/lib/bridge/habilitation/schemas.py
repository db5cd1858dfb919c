"""API shapes of habilitations, requests and the users screen (French field names)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from bridge.habilitation.models import AccessRequest, Habilitation
from bridge.habilitation.service import UsersPage


class HabilitationOut(BaseModel):
    id: int
    demarche: str
    role: str
    siret: str
    accordee_par: str = Field(description="Origine : code d'activation, gestionnaire, délégation…")
    accordee_par_nom: str
    accordee_le: datetime
    jusqu_au: datetime | None
    pour_le_compte_de: str | None

    @classmethod
    def of(cls, h: Habilitation) -> HabilitationOut:
        return cls(
            id=h.id,
            demarche=h.demarche,
            role=h.role,
            siret=h.siret,
            accordee_par=str(h.granted_how),
            accordee_par_nom=h.granted_by_name,
            accordee_le=h.granted_at,
            jusqu_au=h.valid_until,
            pour_le_compte_de=h.on_behalf_of_siret,
        )


class ActivationIn(BaseModel):
    siret: str = Field(max_length=40)
    code: str = Field(max_length=40)


class AccessRequestIn(BaseModel):
    siret: str = Field(max_length=40)
    role: str | None = Field(default=None, max_length=64)


class AccessRequestOut(BaseModel):
    id: int
    demarche: str
    siret: str
    role_souhaite: str | None
    statut: str
    cree_le: datetime
    motif: str | None

    @classmethod
    def of(cls, r: AccessRequest) -> AccessRequestOut:
        return cls(
            id=r.id,
            demarche=r.demarche,
            siret=r.siret,
            role_souhaite=r.wished_role,
            statut=str(r.status),
            cree_le=r.created_at,
            motif=r.reason,
        )


class ApprovalIn(BaseModel):
    role: str | None = Field(default=None, max_length=64)


class RefusalIn(BaseModel):
    motif: str = Field(min_length=1, max_length=500)


class GrantIn(BaseModel):
    personne: str = Field(max_length=64, description="Identifiant (sub) de la personne")
    role: str = Field(max_length=64)
    siret: str = Field(max_length=40)


class RoleChangeIn(BaseModel):
    role: str = Field(max_length=64)


class UserOut(BaseModel):
    personne: str
    nom: str
    prenom: str
    email: str
    tiers: bool
    habilitations: list[HabilitationOut]


class UsersPageOut(BaseModel):
    total: int
    page: int
    pages: int
    facettes_roles: dict[str, int]
    facettes_tiers: dict[str, int]
    utilisateurs: list[UserOut]

    @classmethod
    def of(cls, page: UsersPage) -> UsersPageOut:
        return cls(
            total=page.total,
            page=page.page,
            pages=page.pages,
            facettes_roles=page.role_counts,
            facettes_tiers={
                "oui": page.tiers_counts.get(True, 0),
                "non": page.tiers_counts.get(False, 0),
            },
            utilisateurs=[
                UserOut(
                    personne=r.person.subject,
                    nom=r.person.last_name,
                    prenom=r.person.first_name,
                    email=r.person.email,
                    tiers=r.is_tiers,
                    habilitations=[HabilitationOut.of(h) for h in r.habilitations],
                )
                for r in page.rows
            ],
        )


class RightOut(BaseModel):
    autorise: bool

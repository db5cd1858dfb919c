"""The employer space's API shapes (French field names, as the forms)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from bridge.db import MAX_STORE_INT
from bridge.employeur.models import Organisation, Unite
from bridge.employeur.service import Details, Row


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrganisationIn(_In):
    siret: str = Field(max_length=20)
    type: str = Field(max_length=64)
    raison_sociale: str = Field(max_length=200)


class OrganisationOut(BaseModel):
    siret: str
    type: str
    creee_le: datetime

    @classmethod
    def of(cls, organisation: Organisation) -> OrganisationOut:
        return cls(
            siret=organisation.siret, type=organisation.type, creee_le=organisation.created_at
        )


class _Coordonnees(_In):
    """The person's fields of the add and modify forms, the e-mail aside."""

    civilite: str = Field(max_length=20)
    nom: str = Field(max_length=200)
    prenom: str = Field(max_length=200)
    telephone_fixe: str | None = Field(default=None, max_length=30)
    telephone_mobile: str | None = Field(default=None, max_length=30)
    unite: int | None = Field(default=None, ge=1, le=MAX_STORE_INT)
    niveau: str | None = Field(default=None, max_length=100)

    def details(self, email: str = "") -> Details:
        return Details(
            self.civilite,
            self.nom,
            self.prenom,
            email,
            self.telephone_fixe,
            self.telephone_mobile,
            self.unite,
            self.niveau,
        )


class PersonneIn(_Coordonnees):
    email: str = Field(max_length=254)

    def details(self, email: str = "") -> Details:
        return super().details(email or self.email)


class GestionnaireIn(PersonneIn):
    role: str = Field(default="gestionnaire", max_length=64)


class GestionnaireModifIn(_Coordonnees):
    """The e-mail is the person's own to change (Keycloak verifies it), not in this form."""

    role: str = Field(max_length=64)


class GestionnaireOut(BaseModel):
    personne: str
    identifiant: str
    nom: str
    prenom: str
    email: str
    role: str
    unite: str | None
    niveau: str | None
    actif: bool

    @classmethod
    def of(cls, row: Row) -> GestionnaireOut:
        g, p = row.gestionnaire, row.person
        return cls(
            personne=g.subject,
            identifiant=g.login_id,
            nom=p.last_name,
            prenom=p.first_name,
            email=p.email,
            role=g.role,
            unite=row.unite,
            niveau=g.level,
            actif=g.active,
        )


class GestionnairesPageOut(BaseModel):
    gestionnaires: list[GestionnaireOut]
    total: int
    page: int
    pages: int


class UniteIn(_In):
    nom: str = Field(max_length=200)


class UniteOut(BaseModel):
    id: int
    nom: str

    @classmethod
    def of(cls, unite: Unite) -> UniteOut:
        return cls(id=unite.id, nom=unite.name)


class TransfertIn(_In):
    personne: str = Field(max_length=64)

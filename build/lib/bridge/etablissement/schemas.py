"""API shapes of the operator's establishment and code tools."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CodeIn(BaseModel):
    siret: str = Field(max_length=40)
    demarche: str = Field(max_length=64)
    reemettre: bool = False


class CodeOut(BaseModel):
    siret: str
    demarche: str
    code: str = Field(description="Montré une seule fois : seule son empreinte est conservée.")


class RejectOut(BaseModel):
    ligne: int
    contenu: str
    motif: str


class LetterOut(BaseModel):
    siret: str
    raison_sociale: str
    code: str


class ImportOut(BaseModel):
    crees: int
    mis_a_jour: int
    codes_emis: int
    inchanges: int
    rejets: list[RejectOut]
    courriers: list[LetterOut]

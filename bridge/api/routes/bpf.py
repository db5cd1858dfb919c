"""JSON API of the BPF of Mon Activité Formation (bearer tokens of people): read, save the
draft, submit, history. The right is read from the store on every request."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field

from bridge.api.deps import ActorDep, ContextDep, ReadsDep
from bridge.api.errors import API_PROBLEMS
from bridge.audit.service import Actor
from bridge.bpf.models import Bpf, BpfSave
from bridge.db import MAX_STORE_INT
from bridge.errors import BridgeError, InvalidInputError, NotFoundError
from bridge.services import Services

MAX_BODY_BYTES = 64 * 1024


class PayloadTooLargeError(BridgeError):
    status = 413
    code = "requete-trop-grande"
    title = "Requête trop grande"


async def bounded_body(request: Request) -> None:
    """A BPF fits in a few kilobytes: refuse anything far larger before reading it (no I/O:
    `async`, so it costs no trip to the thread pool)."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
        raise PayloadTooLargeError(f"Le corps de la requête dépasse {MAX_BODY_BYTES} octets.")


router = APIRouter(
    responses=API_PROBLEMS,
    prefix="/api/v1/demarches/mon-activite-formation/bpf",
    tags=["BPF (Mon Activité Formation)"],
    dependencies=[Depends(bounded_body)],
)
SiretPath = Annotated[str, Path(pattern=r"^[0-9]{14}$", description="SIRET de l'organisme")]
YearPath = Annotated[int, Path(ge=1900, le=2100, description="Exercice (année)")]
FieldValue = str | int | float | None


class SaveIn(BaseModel):
    version: int = Field(
        ge=0, le=MAX_STORE_INT, description="Version lue (0 pour un premier enregistrement)"
    )
    siret: str | None = Field(default=None, description="Si présent, doit être celui du chemin")
    valeurs: dict[str, FieldValue] = Field(max_length=200)


class SubmitIn(BaseModel):
    version: int = Field(ge=0, le=MAX_STORE_INT)


class BpfOut(BaseModel):
    siret: str
    exercice: int
    statut: str
    version: int
    valeurs: dict[str, str | int]
    recepisse: str | None
    depose_le: datetime | None
    modifie_le: datetime

    @classmethod
    def of(cls, bpf: Bpf) -> BpfOut:
        return cls(
            siret=bpf.siret,
            exercice=bpf.exercice,
            statut=str(bpf.status),
            version=bpf.version,
            valeurs=bpf.content,
            recepisse=bpf.receipt_number,
            depose_le=bpf.submitted_at,
            modifie_le=bpf.updated_at,
        )


class SaveOut(BaseModel):
    action: str
    version: int
    par: str
    par_nom: str
    pour_le_compte_de: str | None = Field(description="SIRET de l'organisme, quand un tiers a agi")
    tiers_siret: str | None
    le: datetime
    champs_modifies: list[str]

    @classmethod
    def of(cls, save: BpfSave, siret: str) -> SaveOut:
        return cls(
            action=save.action,
            version=save.version,
            par=save.by_subject,
            par_nom=save.by_name,
            pour_le_compte_de=siret if save.tiers_siret else None,
            tiers_siret=save.tiers_siret,
            le=save.saved_at,
            champs_modifies=save.changed,
        )


@router.get("/{siret}/{exercice}", summary="Lire le BPF d'un exercice", response_model=BpfOut)
async def read(siret: SiretPath, exercice: YearPath, caller: ReadsDep) -> Response:
    # The hot path (`docs/performance/`): the caller's check, the right and the BPF in one
    # trip to the thread pool, read without a transaction; the answer written once.
    def found(work: Services, actor: Actor) -> str:
        bpf = work.bpf.read(actor, siret, exercice)
        if bpf is None:
            raise NotFoundError(f"Aucun BPF n'est encore enregistré pour {exercice}.")
        return BpfOut.of(bpf).model_dump_json()

    return Response(await caller.run(found), media_type="application/json")


@router.put(
    "/{siret}/{exercice}",
    summary="Enregistrer le brouillon (le formulaire entier)",
    description="Refusé (409) si quelqu'un a enregistré depuis `version`, ou si le BPF est "
    "déposé ; (422) avec `erreurs` par champ si une valeur est invalide : rien n'est enregistré.",
)
def save(
    siret: SiretPath, exercice: YearPath, body: SaveIn, context: ContextDep, actor: ActorDep
) -> BpfOut:
    if body.siret is not None and body.siret != siret:
        raise InvalidInputError(
            f"Le SIRET du formulaire ({body.siret}) n'est pas celui de l'adresse ({siret}).",
            erreurs={"siret": "Ce SIRET n'est pas celui de l'adresse."},
        )
    with context.work() as work:
        saved = work.bpf.save(actor, siret, exercice, body.valeurs, body.version)
        return BpfOut.of(saved)


@router.post("/{siret}/{exercice}/depot", summary="Déposer le BPF (il devient non modifiable)")
def submit(
    siret: SiretPath, exercice: YearPath, body: SubmitIn, context: ContextDep, actor: ActorDep
) -> BpfOut:
    with context.work() as work:
        return BpfOut.of(work.bpf.submit(actor, siret, exercice, body.version))


@router.get("/{siret}/{exercice}/historique", summary="Qui a enregistré ou déposé, et quand")
def history(
    siret: SiretPath, exercice: YearPath, context: ContextDep, actor: ActorDep
) -> list[SaveOut]:
    with context.work() as work:
        saves = work.bpf.history(actor, siret, exercice)
        return [SaveOut.of(s, siret) for s in saves]

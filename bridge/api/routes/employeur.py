"""JSON API of the employer space (bearer tokens): the same services as its pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from bridge.api.deps import ActorDep, ContextDep
from bridge.api.errors import API_PROBLEMS
from bridge.db import MAX_STORE_INT
from bridge.employeur.schemas import (
    GestionnaireIn,
    GestionnaireModifIn,
    GestionnaireOut,
    GestionnairesPageOut,
    OrganisationIn,
    OrganisationOut,
    PersonneIn,
    TransfertIn,
    UniteIn,
    UniteOut,
)

router = APIRouter(responses=API_PROBLEMS, prefix="/api/v1/employeur", tags=["espace employeur"])
ORGANISATION = "/organisations/{siret}"


@router.post("/organisations", status_code=201, summary="Créer une organisation (opérateur)")
def create_organisation(
    body: OrganisationIn, context: ContextDep, actor: ActorDep
) -> OrganisationOut:
    with context.work() as work:
        return OrganisationOut.of(
            work.employeur.create_organisation(actor, body.siret, body.type, body.raison_sociale)
        )


@router.post(
    ORGANISATION + "/administrateur-principal",
    status_code=201,
    summary="Désigner l'administrateur principal (opérateur) : compte créé, mot de passe envoyé",
)
def appoint_principal(
    siret: str, body: PersonneIn, context: ContextDep, actor: ActorDep
) -> GestionnaireOut:
    with context.work() as work:
        created = work.employeur.appoint_principal(actor, siret, body.details())
        out = GestionnaireOut.of(work.employeur.row(created))
    return out


@router.post(
    ORGANISATION + "/administrateur-principal/transfert",
    summary="Confier le rôle d'administrateur principal à un autre gestionnaire (opérateur)",
)
def transfer_principal(
    siret: str, body: TransfertIn, context: ContextDep, actor: ActorDep
) -> GestionnaireOut:
    with context.work() as work:
        incoming = work.employeur.transfer_principal(actor, siret, body.personne)
        return GestionnaireOut.of(work.employeur.row(incoming))


@router.get(ORGANISATION + "/gestionnaires", summary="Gestionnaires de l'organisation")
def list_gestionnaires(
    siret: str,
    context: ContextDep,
    actor: ActorDep,
    recherche: Annotated[str, Query(max_length=100)] = "",
    unite: Annotated[int | None, Query(ge=1, le=MAX_STORE_INT)] = None,
    role: Annotated[str, Query(max_length=64)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> GestionnairesPageOut:
    with context.work() as work:
        organisation, _, _ = work.employeur.require_administrator(actor, siret)
        found = work.employeur.page(
            organisation.siret, search=recherche, unite_id=unite, role=role, page=page
        )
        return GestionnairesPageOut(
            gestionnaires=[GestionnaireOut.of(r) for r in found.rows],
            total=found.total,
            page=found.page,
            pages=found.pages,
        )


@router.post(
    ORGANISATION + "/gestionnaires",
    status_code=201,
    summary="Ajouter un gestionnaire : compte créé, identifiant rendu, mot de passe envoyé",
)
def add_gestionnaire(
    siret: str, body: GestionnaireIn, context: ContextDep, actor: ActorDep
) -> GestionnaireOut:
    with context.work() as work:
        created = work.employeur.add(actor, siret, body.details(), body.role)
        out = GestionnaireOut.of(work.employeur.row(created))
    return out


@router.put(ORGANISATION + "/gestionnaires/{personne}", summary="Modifier un gestionnaire")
def modify_gestionnaire(
    siret: str, personne: str, body: GestionnaireModifIn, context: ContextDep, actor: ActorDep
) -> GestionnaireOut:
    with context.work() as work:
        target = work.employeur.modify(actor, siret, personne, body.details(), body.role)
        return GestionnaireOut.of(work.employeur.row(target))


@router.post(
    ORGANISATION + "/gestionnaires/{personne}/desactivation",
    summary="Désactiver un gestionnaire (son droit cesse, son compte est fermé)",
)
def deactivate(siret: str, personne: str, context: ContextDep, actor: ActorDep) -> GestionnaireOut:
    with context.work() as work:
        target = work.employeur.set_active(actor, siret, personne, False)
        return GestionnaireOut.of(work.employeur.row(target))


@router.post(ORGANISATION + "/gestionnaires/{personne}/reactivation", summary="Réactiver")
def reactivate(siret: str, personne: str, context: ContextDep, actor: ActorDep) -> GestionnaireOut:
    with context.work() as work:
        target = work.employeur.set_active(actor, siret, personne, True)
        return GestionnaireOut.of(work.employeur.row(target))


@router.post(
    ORGANISATION + "/gestionnaires/{personne}/mot-de-passe",
    status_code=204,
    summary="Renouveler le mot de passe (temporaire, envoyé par courriel ; sessions fermées)",
)
def renew_password(siret: str, personne: str, context: ContextDep, actor: ActorDep) -> Response:
    with context.work() as work:
        work.employeur.renew_password(actor, siret, personne)
    return Response(status_code=204)


@router.get(ORGANISATION + "/unites", summary="Unités de l'organisation")
def units(siret: str, context: ContextDep, actor: ActorDep) -> list[UniteOut]:
    with context.work() as work:
        organisation, _, _ = work.employeur.require_member(actor, siret)
        return [UniteOut.of(u) for u in work.employeur.units(organisation.siret)]


@router.post(ORGANISATION + "/unites", status_code=201, summary="Ajouter une unité")
def add_unit(siret: str, body: UniteIn, context: ContextDep, actor: ActorDep) -> UniteOut:
    with context.work() as work:
        return UniteOut.of(work.employeur.add_unit(actor, siret, body.nom))

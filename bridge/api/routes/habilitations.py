"""JSON API of habilitations (bearer tokens): the same services as the portal pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, UploadFile

from bridge.api.deps import ActorDep, ContextDep, PrincipalDep, StoreId
from bridge.api.errors import API_PROBLEMS
from bridge.errors import ForbiddenError, InvalidInputError
from bridge.etablissement.schemas import CodeIn, CodeOut, ImportOut, LetterOut, RejectOut
from bridge.etablissement.service import parse_csv_text
from bridge.habilitation.schemas import (
    AccessRequestIn,
    AccessRequestOut,
    ActivationIn,
    ApprovalIn,
    GrantIn,
    HabilitationOut,
    RefusalIn,
    RightOut,
    RoleChangeIn,
    UsersPageOut,
)

router = APIRouter(responses=API_PROBLEMS, prefix="/api/v1", tags=["habilitations"])


@router.get("/moi/habilitations", summary="Mes habilitations actives")
def my_habilitations(context: ContextDep, principal: PrincipalDep) -> list[HabilitationOut]:
    with context.work() as work:
        return [HabilitationOut.of(h) for h in work.habilitations.active(principal.subject)]


@router.get("/moi/demandes", summary="Mes demandes d'accès")
def my_requests(context: ContextDep, principal: PrincipalDep) -> list[AccessRequestOut]:
    with context.work() as work:
        return [AccessRequestOut.of(r) for r in work.habilitations.my_requests(principal.subject)]


@router.get("/demarches/{demarche}/droit", summary="Puis-je agir avec ce rôle pour ce SIRET ?")
def my_right(
    demarche: str,
    context: ContextDep,
    principal: PrincipalDep,
    siret: Annotated[str, Query(max_length=14)],
    role: Annotated[str, Query(max_length=64)],
) -> RightOut:
    with context.work() as work:
        return RightOut(
            autorise=work.habilitations.may_act(principal.subject, demarche, role, siret)
        )


@router.post(
    "/demarches/{demarche}/activation",
    status_code=201,
    summary="Ajouter la démarche avec le SIRET et le code d'activation",
)
def activate(
    demarche: str, body: ActivationIn, context: ContextDep, actor: ActorDep
) -> HabilitationOut:
    with context.work() as work:
        return HabilitationOut.of(
            work.habilitations.activate(actor, demarche, body.siret, body.code)
        )


@router.post(
    "/demarches/{demarche}/demandes",
    status_code=201,
    summary="Demander l'accès aux gestionnaires d'un SIRET",
)
def request_access(
    demarche: str, body: AccessRequestIn, context: ContextDep, actor: ActorDep
) -> AccessRequestOut:
    with context.work() as work:
        request = work.habilitations.request_access(actor, demarche, body.siret, body.role)
        out = AccessRequestOut.of(request)
    return out


@router.get("/demarches/{demarche}/demandes", summary="Demandes en attente sur mes SIRET")
def pending_requests(demarche: str, context: ContextDep, actor: ActorDep) -> list[AccessRequestOut]:
    with context.work() as work:
        return [
            AccessRequestOut.of(r)
            for r, _ in work.habilitations.pending_for_manager(actor, demarche)
        ]


@router.post(
    "/demarches/{demarche}/demandes/{request_id}/approbation",
    status_code=201,
    summary="Valider une demande d'accès (éventuellement avec un autre rôle)",
)
def approve(
    demarche: str, request_id: StoreId, body: ApprovalIn, context: ContextDep, actor: ActorDep
) -> HabilitationOut:
    with context.work() as work:
        habilitation = work.habilitations.approve(actor, demarche, request_id, body.role)
        out = HabilitationOut.of(habilitation)
    return out


@router.post(
    "/demarches/{demarche}/demandes/{request_id}/refus",
    status_code=204,
    summary="Refuser une demande d'accès, avec un motif",
)
def refuse(
    demarche: str, request_id: StoreId, body: RefusalIn, context: ContextDep, actor: ActorDep
) -> Response:
    with context.work() as work:
        work.habilitations.refuse(actor, demarche, request_id, body.motif)
    return Response(status_code=204)


@router.delete(
    "/demarches/{demarche}/demandes/{request_id}",
    status_code=204,
    summary="Retirer ma demande d'accès",
)
def withdraw(demarche: str, request_id: StoreId, context: ContextDep, actor: ActorDep) -> Response:
    with context.work() as work:
        work.habilitations.withdraw(actor, demarche, request_id)
    return Response(status_code=204)


@router.get(
    "/demarches/{demarche}/utilisateurs", summary="Utilisateurs de la démarche (gestionnaire)"
)
def users(
    demarche: str,
    context: ContextDep,
    actor: ActorDep,
    q: Annotated[str, Query(max_length=100)] = "",
    role: Annotated[str | None, Query(max_length=64)] = None,
    tiers: bool | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> UsersPageOut:
    with context.work() as work:
        return UsersPageOut.of(
            work.habilitations.users(actor, demarche, query=q, role=role, tiers=tiers, page=page)
        )


@router.post(
    "/demarches/{demarche}/habilitations", status_code=201, summary="Ajouter une habilitation"
)
def grant(demarche: str, body: GrantIn, context: ContextDep, actor: ActorDep) -> HabilitationOut:
    with context.work() as work:
        return HabilitationOut.of(
            work.habilitations.grant(actor, demarche, body.personne, body.role, body.siret)
        )


@router.patch("/demarches/{demarche}/habilitations/{habilitation_id}", summary="Modifier le rôle")
def change_role(
    demarche: str,
    habilitation_id: StoreId,
    body: RoleChangeIn,
    context: ContextDep,
    actor: ActorDep,
) -> HabilitationOut:
    with context.work() as work:
        return HabilitationOut.of(
            work.habilitations.change_role(actor, demarche, habilitation_id, body.role)
        )


@router.delete(
    "/demarches/{demarche}/habilitations/{habilitation_id}",
    status_code=204,
    summary="Supprimer une habilitation",
)
def remove(
    demarche: str, habilitation_id: StoreId, context: ContextDep, actor: ActorDep
) -> Response:
    with context.work() as work:
        work.habilitations.remove(actor, demarche, habilitation_id)
    return Response(status_code=204)


@router.post(
    "/operateur/codes",
    status_code=201,
    summary="Émettre ou rééditer un code d'activation (opérateur)",
)
def issue_code(body: CodeIn, context: ContextDep, actor: ActorDep) -> CodeOut:
    if not actor.operator:
        raise ForbiddenError("Seul l'opérateur de la plateforme émet des codes d'activation.")
    with context.work() as work:
        code = work.etablissements.issue_code(
            actor, body.siret, body.demarche, reissue=body.reemettre
        )
    return CodeOut(siret=body.siret, demarche=body.demarche, code=code)


@router.post(
    "/operateur/etablissements",
    status_code=201,
    summary="Importer des établissements (CSV siret;raison_sociale) et émettre leurs codes",
)
def import_etablissements(
    context: ContextDep,
    actor: ActorDep,
    demarche: Annotated[str, Query(max_length=64)],
    fichier: UploadFile,
) -> ImportOut:
    if not actor.operator:
        raise ForbiddenError("Seul l'opérateur de la plateforme importe des établissements.")
    content = fichier.file.read(10 * 1024 * 1024 + 1)  # a plain def: runs in the threadpool
    if len(content) > 10 * 1024 * 1024:
        raise InvalidInputError("Le fichier dépasse 10 Mo : découpez-le.")
    try:
        rows = parse_csv_text(content.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InvalidInputError("Le fichier doit être encodé en UTF-8.") from exc
    with context.work() as work:
        report = work.etablissements.import_rows(actor, rows, demarche)
    return ImportOut(
        crees=report.created,
        mis_a_jour=report.updated,
        codes_emis=report.codes_issued,
        inchanges=report.unchanged,
        rejets=[
            RejectOut(ligne=line, contenu=raw, motif=reason)
            for line, raw, reason in report.rejected
        ],
        courriers=[
            LetterOut(siret=siret, raison_sociale=name, code=code)
            for siret, name, code in report.letters
        ],
    )

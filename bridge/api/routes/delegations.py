"""JSON API of delegations to a tiers (bearer tokens): the same services as the pages."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from bridge.api.deps import ActorDep, ContextDep, PrincipalDep, StoreId
from bridge.api.errors import API_PROBLEMS
from bridge.audit.service import Actor
from bridge.delegation.schemas import (
    PARIS_END_OF_DAY,
    AcceptManyIn,
    ClientOut,
    DelegationChangeIn,
    DelegationIn,
    DelegationOut,
    PortfolioOut,
    RecapOut,
)
from bridge.delegation.service import PARIS, DelegationDraft
from bridge.habilitation.schemas import HabilitationOut
from bridge.identity.tokens import Principal
from bridge.services import Services

router = APIRouter(responses=API_PROBLEMS, prefix="/api/v1", tags=["délégations"])


def end_of(day: date | None) -> datetime | None:
    """An end date is inclusive: the right lasts until 23:59:59 that day, Paris time."""
    if day is None:
        return None
    return datetime.combine(day, PARIS_END_OF_DAY, PARIS).astimezone(UTC)


def _draft(work: Services, actor: Actor, demarche: str, body: DelegationIn) -> DelegationDraft:
    return work.delegations.prepare(
        actor,
        demarche,
        tiers_siret=body.siret_tiers,
        tiers_email=body.email,
        role=body.role,
        delegator_siret=body.siret_habilitation,
        valid_until=end_of(body.fin),
    )


def _verified(principal: Principal) -> bool:
    return bool(principal.claims.get("email_verified", False))


@router.post(
    "/demarches/{demarche}/delegations/recapitulatif",
    summary="Vérifier le formulaire et obtenir le récapitulatif (rien n'est envoyé)",
)
def recap(demarche: str, body: DelegationIn, context: ContextDep, actor: ActorDep) -> RecapOut:
    with context.work() as work:
        draft = _draft(work, actor, demarche, body)
    return RecapOut.of(draft)


@router.post(
    "/demarches/{demarche}/delegations",
    status_code=201,
    summary="Confirmer la délégation : l'invitation part par e-mail",
)
def invite(
    demarche: str, body: DelegationIn, context: ContextDep, actor: ActorDep
) -> DelegationOut:
    with context.work() as work:
        draft = _draft(work, actor, demarche, body)
        delegation = work.delegations.invite(actor, draft, context.settings.public_url)
        out = DelegationOut.of(delegation)
    out.courriel = "envoye" if work.delivery.sent else "en-attente"  # known after the commit
    return out


@router.get("/demarches/{demarche}/delegations", summary="Délégations transmises depuis mes SIRET")
def given(demarche: str, context: ContextDep, actor: ActorDep) -> list[DelegationOut]:
    with context.work() as work:
        return [DelegationOut.of(d) for d in work.delegations.of_etablissements(actor, demarche)]


@router.post(
    "/delegations/{delegation_id}/relance", status_code=204, summary="Renvoyer l'invitation"
)
def resend(delegation_id: StoreId, context: ContextDep, actor: ActorDep) -> Response:
    with context.work() as work:
        work.delegations.resend(actor, delegation_id, context.settings.public_url)
    return Response(status_code=204)


@router.patch("/delegations/{delegation_id}", summary="Modifier le rôle ou la fin d'une délégation")
def modify(
    delegation_id: StoreId, body: DelegationChangeIn, context: ContextDep, actor: ActorDep
) -> DelegationOut:
    # An absent `fin` keeps the end date; `"fin": null` removes it.
    end = end_of(body.fin) if "fin" in body.model_fields_set else ...
    with context.work() as work:
        return DelegationOut.of(
            work.delegations.modify(actor, delegation_id, role=body.role, valid_until=end)
        )


@router.delete("/delegations/{delegation_id}", status_code=204, summary="Révoquer la délégation")
def revoke(delegation_id: StoreId, context: ContextDep, actor: ActorDep) -> Response:
    with context.work() as work:
        work.delegations.revoke(actor, delegation_id)
    return Response(status_code=204)


@router.post("/invitations/{token}/acceptation", status_code=201, summary="Accepter une invitation")
def accept(
    token: str, context: ContextDep, principal: PrincipalDep, actor: ActorDep
) -> HabilitationOut:
    with context.work() as work:
        return HabilitationOut.of(
            work.delegations.accept(actor, principal.email, _verified(principal), token)
        )


@router.post("/invitations/{token}/refus", status_code=204, summary="Refuser une invitation")
def decline(token: str, context: ContextDep, principal: PrincipalDep, actor: ActorDep) -> Response:
    with context.work() as work:
        work.delegations.decline(actor, principal.email, _verified(principal), token)
    return Response(status_code=204)


@router.get("/moi/invitations", summary="Invitations en attente pour mon adresse vérifiée")
def my_invitations(context: ContextDep, principal: PrincipalDep) -> list[DelegationOut]:
    with context.work() as work:
        return [
            DelegationOut.of(d)
            for d in work.delegations.pending_for(principal.email, _verified(principal))
        ]


@router.post(
    "/moi/invitations/acceptation", status_code=201, summary="Accepter plusieurs invitations"
)
def accept_many(
    body: AcceptManyIn, context: ContextDep, principal: PrincipalDep, actor: ActorDep
) -> list[HabilitationOut]:
    with context.work() as work:
        granted = work.delegations.accept_many(
            actor, principal.email, _verified(principal), body.invitations
        )
        return [HabilitationOut.of(h) for h in granted]


@router.get("/moi/clients", summary="Les établissements pour lesquels j'agis en tant que tiers")
def portfolio(
    context: ContextDep,
    principal: PrincipalDep,
    q: Annotated[str, Query(max_length=100)] = "",
    demarche: Annotated[str | None, Query(max_length=64)] = None,
    fin_avant: date | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> PortfolioOut:
    with context.work() as work:
        rows, total = work.delegations.portfolio(
            principal.subject, query=q, demarche=demarche, ends_before=end_of(fin_avant), page=page
        )
        return PortfolioOut(
            total=total,
            page=page,
            clients=[
                ClientOut(
                    demarche=h.demarche,
                    role=h.role,
                    siret=h.siret,
                    raison_sociale=name,
                    pour_le_compte_de=h.on_behalf_of_siret,
                    fin=h.valid_until,
                )
                for h, name in rows
            ],
        )

"""Portal pages of the habilitation flows (first guide): « Mes démarches », « Ajouter une
démarche », and the users screen of a démarche. Thin: every rule lives in the services.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query
from fastapi.responses import RedirectResponse, Response

from bridge.api.deps import StoreId
from bridge.api.pages.common import PageDep, VisitDep, pages_router
from bridge.audit.labels import action_sentence
from bridge.audit.models import AuditEvent
from bridge.catalog import Demarche
from bridge.delegation.service import PARIS
from bridge.errors import BridgeError
from bridge.etablissement.service import AlreadyManagedError, demarche_or_refuse
from bridge.habilitation.models import GrantedHow, Habilitation
from bridge.services import Services


def history_line(demarche: Demarche, event: AuditEvent) -> str:
    """A line of a person's history on the users screen, in words (roles by their label)."""

    def label(role_id: str) -> str:
        role = demarche.role(role_id)
        return role.label if role else "rôle retiré du catalogue"

    return action_sentence(event.action, event.details, label)


def habilitation_line(demarche: Demarche, habilitation: Habilitation) -> tuple[str, str]:
    """The guide's two lines: « Gestionnaire - SIRET … » / « Habilité le … par … » (a right
    received by delegation reads « Organisme de formation - SIRET {the délégant's} »)."""
    role = demarche.role(habilitation.role)
    label = role.label if role else habilitation.role
    when = habilitation.granted_at.astimezone(PARIS).strftime("%d/%m/%Y")
    if habilitation.granted_how == GrantedHow.DELEGATION:
        title = f"Organisme de formation - SIRET {habilitation.siret}"
    else:
        title = f"{label} - SIRET {habilitation.siret}"
    return title, f"Habilité le {when} par {habilitation.granted_by_name or 'le portail'}"


router = pages_router()

# --- Mes démarches -------------------------------------------------------------------------


@router.get("/")
def home(visit: VisitDep) -> Response:
    user = visit.user
    if user is None:
        return visit.templates.TemplateResponse(visit.request, "home.html", {"user": None})
    catalog = visit.context.catalog
    with visit.context.work() as work:
        mine = work.habilitations.active(user.sub)
        requests = list(work.habilitations.my_requests(user.sub))
        managed = {
            d.id for d in catalog.demarches if work.habilitations.managed_sirets(user.sub, d)
        }
        invitations = len(work.delegations.pending_for(user.email, user.email_verified))
    held: dict[str, list[Habilitation]] = {}
    for habilitation in mine:
        held.setdefault(habilitation.demarche, []).append(habilitation)
    employer = {d.id for d in catalog.employer_demarches}
    spaces = {h.siret for h in mine if h.demarche in employer}
    if len(spaces) == 1 and all(h.demarche in employer for h in mine) and not requests:
        # The guide: an employer's gestionnaire lands on the employer home.
        return RedirectResponse(f"/employeur/{spaces.pop()}", status_code=303)
    return visit.render(
        "home.html",
        mes_demarches=[(d, held[d.id]) for d in catalog.demarches if d.id in held],
        # Only what a person may add by themselves: a démarche the operator opens (the
        # employer space) concerns its members alone, who find it under « Mes démarches ».
        autres_demarches=[
            d for d in catalog.demarches if d.id not in held and d.entry == "activation-code"
        ],
        demandes=[(r, catalog.demarche(r.demarche)) for r in requests],
        gerees=managed,
        invitations=invitations,
        tiers=any(h.granted_how == GrantedHow.DELEGATION for h in mine),
        urls=visit.context.settings.demarche_urls,
    )


# --- Ajouter une démarche ------------------------------------------------------------------


@router.get("/demarches/{demarche_id}/ajouter")
def add_form(page: PageDep, demarche_id: str, onglet: str = "code") -> Response:
    demarche = demarche_or_refuse(page.context.catalog, demarche_id)
    return page.form("ajouter.html", {}, demarche=demarche, onglet=onglet)


@router.post("/demarches/{demarche_id}/activation")
def add_with_code(
    page: PageDep,
    demarche_id: str,
    siret: Annotated[str, Form(max_length=40)] = "",
    code: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    demarche = demarche_or_refuse(page.context.catalog, demarche_id)
    try:
        with page.context.work() as work:
            work.habilitations.activate(page.actor, demarche.id, siret, code)
    except AlreadyManagedError as exc:
        # Already managed: the way in is a request to its gestionnaires (the other tab).
        return page.form(
            "ajouter.html", {"siret": siret}, exc, "siret", demarche=demarche, onglet="demande"
        )
    except BridgeError as exc:
        return page.form(
            "ajouter.html", {"siret": siret}, exc, "code", demarche=demarche, onglet="code"
        )
    page.flash(f"La démarche « {demarche.title} » est ajoutée : vous en êtes gestionnaire.")
    return RedirectResponse("/", status_code=303)


@router.post("/demarches/{demarche_id}/demandes")
def add_with_request(
    page: PageDep,
    demarche_id: str,
    siret: Annotated[str, Form(max_length=40)] = "",
    role: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    demarche = demarche_or_refuse(page.context.catalog, demarche_id)
    try:
        with page.context.work() as work:
            work.habilitations.request_access(page.actor, demarche.id, siret, role or None)
    except BridgeError as exc:
        values = {"siret": siret, "role": role}
        return page.form("ajouter.html", values, exc, "siret", demarche=demarche, onglet="demande")
    page.flash(f"Votre demande d'accès à « {demarche.title} » est envoyée aux gestionnaires.")
    return RedirectResponse("/", status_code=303)


@router.post("/demarches/{demarche_id}/demandes/{request_id}/retrait")
def withdraw(page: PageDep, demarche_id: str, request_id: StoreId) -> Response:
    page.act(
        "Votre demande est retirée.",
        lambda work: work.habilitations.withdraw(page.actor, demarche_id, request_id),
    )
    return RedirectResponse("/", status_code=303)


# --- Utilisateurs de la démarche -----------------------------------------------------------


@router.get("/demarches/{demarche_id}/utilisateurs")
def users(
    page: PageDep,
    demarche_id: str,
    q: str = "",
    role: str = "",
    tiers: str = "",
    numero: Annotated[int, Query(ge=1, le=100_000, alias="page")] = 1,
    personne: str = "",
) -> Response:
    demarche = demarche_or_refuse(page.context.catalog, demarche_id)
    actor = page.actor
    with page.context.work() as work:
        managed = work.habilitations.managed_sirets(actor.subject, demarche)  # once per page
        result = work.habilitations.users(
            actor,
            demarche.id,
            query=q[:100],
            role=role or None,
            tiers={"oui": True, "non": False}.get(tiers),
            page=numero,
            sirets=managed,
        )
        pending = work.habilitations.pending_for_manager(actor, demarche.id)
        detail = (
            work.habilitations.person_detail(actor, demarche.id, personne) if personne else None
        )
        delegations = work.delegations.of_etablissements(actor, demarche.id)
    # The right a tiers received → its delegation in « Délégations transmises », where the
    # délégant's gestionnaire revokes or modifies it (never from the person's detail).
    managed_delegation = {d.habilitation_id: d.id for d in delegations if d.habilitation_id}
    return page.render(
        "utilisateurs.html",
        demarche=demarche,
        resultat=result,
        demandes=pending,
        detail=detail,
        sirets=sorted(managed),
        delegations=delegations,
        delegation_du_droit=managed_delegation,
        filtres={"q": q, "role": role, "tiers": tiers},
    )


def back_to_users(demarche_id: str, personne: str = "") -> Response:
    """The users screen of the démarche (an unknown one then answers 404 there)."""
    suffix = f"?personne={personne}" if personne else ""
    return RedirectResponse(f"/demarches/{demarche_id}/utilisateurs{suffix}", status_code=303)


@router.post("/demarches/{demarche_id}/demandes/{request_id}/approbation")
def approve(
    page: PageDep,
    demarche_id: str,
    request_id: StoreId,
    role: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    page.act(
        "La demande est validée.",
        lambda work: work.habilitations.approve(page.actor, demarche_id, request_id, role or None),
    )
    return back_to_users(demarche_id)


@router.post("/demarches/{demarche_id}/demandes/{request_id}/refus")
def refuse(
    page: PageDep,
    demarche_id: str,
    request_id: StoreId,
    motif: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    page.act(
        "La demande est refusée ; la personne verra le motif.",
        lambda work: work.habilitations.refuse(page.actor, demarche_id, request_id, motif),
    )
    return back_to_users(demarche_id)


@router.post("/demarches/{demarche_id}/habilitations")
def grant(
    page: PageDep,
    demarche_id: str,
    email: Annotated[str, Form(max_length=254)] = "",
    role: Annotated[str, Form(max_length=64)] = "",
    siret: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    granted_to: list[str] = []

    def grant_it(work: Services) -> None:
        person = work.habilitations.person_by_email(email)
        work.habilitations.grant(page.actor, demarche_id, person.subject, role, siret)
        granted_to.append(person.subject)

    if page.act("L'habilitation est ajoutée.", grant_it):
        return back_to_users(demarche_id, granted_to[0])
    return back_to_users(demarche_id)


@router.post("/demarches/{demarche_id}/habilitations/{habilitation_id}/role")
def change_role(
    page: PageDep,
    demarche_id: str,
    habilitation_id: StoreId,
    role: Annotated[str, Form(max_length=64)] = "",
    personne: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    page.act(
        "L'habilitation est modifiée.",
        lambda work: work.habilitations.change_role(page.actor, demarche_id, habilitation_id, role),
    )
    return back_to_users(demarche_id, personne)


@router.post("/demarches/{demarche_id}/habilitations/{habilitation_id}/suppression")
def remove(
    page: PageDep,
    demarche_id: str,
    habilitation_id: StoreId,
    personne: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    page.act(
        "L'habilitation est supprimée.",
        lambda work: work.habilitations.remove(page.actor, demarche_id, habilitation_id),
    )
    return back_to_users(demarche_id, personne)

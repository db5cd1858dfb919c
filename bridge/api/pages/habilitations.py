"""Portal pages of the habilitation flows (first guide): « Mes démarches », « Ajouter une
démarche », and the users screen of a démarche. Thin: every rule lives in the services.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from bridge.api.auth.oidc import SessionUser
from bridge.api.deps import ContextDep, TemplatesDep
from bridge.api.pages.common import (
    UserDep,
    act_and_tell,
    actor_of,
    current_user,
    flash,
    form_again,
    pages_router,
    render_page,
)
from bridge.bootstrap import AppContext
from bridge.catalog import Demarche
from bridge.errors import BridgeError
from bridge.etablissement.service import AlreadyManagedError, demarche_or_refuse
from bridge.habilitation.models import GrantedHow, Habilitation
from bridge.services import Services

_ACTION_LABELS = {
    "habilitation-accordee": "habilitation accordée",
    "habilitation-modifiee": "habilitation modifiée",
    "habilitation-retiree": "habilitation supprimée",
    "demande-acces-refusee": "demande d'accès refusée",
}


def action_label(action: str) -> str:
    """The French words of an audit action, for the history of the users screen."""
    return _ACTION_LABELS.get(action, action.replace("-", " "))


def habilitation_line(demarche: Demarche, habilitation: Habilitation) -> tuple[str, str]:
    """The guide's two lines: « Gestionnaire - SIRET … » / « Habilité le … par … »."""
    role = demarche.role(habilitation.role)
    label = role.label if role else habilitation.role
    when = habilitation.granted_at.strftime("%d/%m/%Y")
    if habilitation.granted_how == GrantedHow.DELEGATION:
        title = f"Organisme de formation - SIRET {habilitation.siret}"
    else:
        title = f"{label} - SIRET {habilitation.siret}"
    return title, f"Habilité le {when} par {habilitation.granted_by_name or 'le portail'}"


router = pages_router()

# --- Mes démarches -------------------------------------------------------------------------


@router.get("/")
def home(request: Request, context: ContextDep, templates: TemplatesDep) -> Response:
    user = current_user(request)
    if user is None:
        return templates.TemplateResponse(request, "home.html", {"user": None})
    catalog = context.catalog
    with context.work() as work:
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
    return render_page(
        templates,
        request,
        "home.html",
        user,
        mes_demarches=[(d, held[d.id]) for d in catalog.demarches if d.id in held],
        autres_demarches=[d for d in catalog.demarches if d.id not in held],
        demandes=[(r, catalog.demarche(r.demarche)) for r in requests],
        gerees=managed,
        invitations=invitations,
        tiers=any(h.granted_how == GrantedHow.DELEGATION for h in mine),
        urls=context.settings.demarche_urls,
    )


# --- Ajouter une démarche ------------------------------------------------------------------


def _add_page(
    templates: TemplatesDep,
    request: Request,
    user: SessionUser,
    demarche: Demarche,
    onglet: str,
) -> Response:
    """« Ajouter une démarche », on the code or request tab."""
    return render_page(
        templates,
        request,
        "ajouter.html",
        user,
        demarche=demarche,
        onglet=onglet,
        valeurs={},
        erreurs={},
    )


@router.get("/demarches/{demarche_id}/ajouter")
def add_form(
    request: Request,
    demarche_id: str,
    user: UserDep,
    context: ContextDep,
    templates: TemplatesDep,
    onglet: str = "code",
) -> Response:
    demarche = demarche_or_refuse(context.catalog, demarche_id)
    return _add_page(templates, request, user, demarche, onglet)


@router.post("/demarches/{demarche_id}/activation")
def add_with_code(
    request: Request,
    demarche_id: str,
    user: UserDep,
    context: ContextDep,
    templates: TemplatesDep,
    siret: Annotated[str, Form(max_length=40)] = "",
    code: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    demarche = demarche_or_refuse(context.catalog, demarche_id)
    try:
        with context.work() as work:
            work.habilitations.activate(actor_of(request, user), demarche.id, siret, code)
    except BridgeError as exc:
        # Already managed: the way in is a request to its gestionnaires (the other tab).
        onglet = "demande" if isinstance(exc, AlreadyManagedError) else "code"
        field = "siret" if isinstance(exc, AlreadyManagedError) else "code"
        return form_again(
            templates,
            request,
            "ajouter.html",
            user,
            exc,
            {"siret": siret},
            field,
            demarche=demarche,
            onglet=onglet,
        )
    flash(request, f"La démarche « {demarche.title} » est ajoutée : vous en êtes gestionnaire.")
    return RedirectResponse("/", status_code=303)


@router.post("/demarches/{demarche_id}/demandes")
def add_with_request(
    request: Request,
    demarche_id: str,
    user: UserDep,
    context: ContextDep,
    templates: TemplatesDep,
    siret: Annotated[str, Form(max_length=40)] = "",
    role: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    demarche = demarche_or_refuse(context.catalog, demarche_id)
    try:
        with context.work() as work:
            work.habilitations.request_access(
                actor_of(request, user), demarche.id, siret, role or None
            )
    except BridgeError as exc:
        return form_again(
            templates,
            request,
            "ajouter.html",
            user,
            exc,
            {"siret": siret, "role": role},
            "siret",
            demarche=demarche,
            onglet="demande",
        )
    flash(request, f"Votre demande d'accès à « {demarche.title} » est envoyée aux gestionnaires.")
    return RedirectResponse("/", status_code=303)


@router.post("/demarches/{demarche_id}/demandes/{request_id}/retrait")
def withdraw(
    request: Request, demarche_id: str, request_id: int, user: UserDep, context: ContextDep
) -> Response:
    act_and_tell(
        context,
        request,
        "Votre demande est retirée.",
        lambda work: work.habilitations.withdraw(actor_of(request, user), demarche_id, request_id),
    )
    return RedirectResponse("/", status_code=303)


# --- Utilisateurs de la démarche -----------------------------------------------------------


@router.get("/demarches/{demarche_id}/utilisateurs")
def users(
    request: Request,
    demarche_id: str,
    user: UserDep,
    context: ContextDep,
    templates: TemplatesDep,
    q: str = "",
    role: str = "",
    tiers: str = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    personne: str = "",
) -> Response:
    demarche = demarche_or_refuse(context.catalog, demarche_id)
    actor = actor_of(request, user)
    with context.work() as work:
        managed = work.habilitations.managed_sirets(user.sub, demarche)  # once per page
        result = work.habilitations.users(
            actor,
            demarche.id,
            query=q[:100],
            role=role or None,
            tiers={"oui": True, "non": False}.get(tiers),
            page=page,
            sirets=managed,
        )
        pending = work.habilitations.pending_for_manager(actor, demarche.id)
        detail = (
            work.habilitations.person_detail(actor, demarche.id, personne) if personne else None
        )
        delegations = work.delegations.of_etablissements(actor, demarche.id)
    return render_page(
        templates,
        request,
        "utilisateurs.html",
        user,
        demarche=demarche,
        resultat=result,
        demandes=pending,
        detail=detail,
        sirets=sorted(managed),
        delegations=delegations,
        filtres={"q": q, "role": role, "tiers": tiers},
    )


def _back_to_users(context: AppContext, demarche_id: str, personne: str = "") -> Response:
    """The users screen of a démarche of the catalog (never a path built from raw input)."""
    if context.catalog.demarche(demarche_id) is None:
        return RedirectResponse("/", status_code=303)
    suffix = f"?personne={personne}" if personne else ""
    return RedirectResponse(f"/demarches/{demarche_id}/utilisateurs{suffix}", status_code=303)


@router.post("/demarches/{demarche_id}/demandes/{request_id}/approbation")
def approve(
    request: Request,
    demarche_id: str,
    request_id: int,
    user: UserDep,
    context: ContextDep,
    role: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    act_and_tell(
        context,
        request,
        "La demande est validée.",
        lambda work: work.habilitations.approve(
            actor_of(request, user), demarche_id, request_id, role or None
        ),
    )
    return _back_to_users(context, demarche_id)


@router.post("/demarches/{demarche_id}/demandes/{request_id}/refus")
def refuse(
    request: Request,
    demarche_id: str,
    request_id: int,
    user: UserDep,
    context: ContextDep,
    motif: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    act_and_tell(
        context,
        request,
        "La demande est refusée ; la personne verra le motif.",
        lambda work: work.habilitations.refuse(
            actor_of(request, user), demarche_id, request_id, motif
        ),
    )
    return _back_to_users(context, demarche_id)


@router.post("/demarches/{demarche_id}/habilitations")
def grant(
    request: Request,
    demarche_id: str,
    user: UserDep,
    context: ContextDep,
    email: Annotated[str, Form(max_length=254)] = "",
    role: Annotated[str, Form(max_length=64)] = "",
    siret: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    granted_to: list[str] = []

    def grant_it(work: Services) -> None:
        person = work.habilitations.person_by_email(email)
        work.habilitations.grant(actor_of(request, user), demarche_id, person.subject, role, siret)
        granted_to.append(person.subject)

    if act_and_tell(context, request, "L'habilitation est ajoutée.", grant_it):
        return _back_to_users(context, demarche_id, granted_to[0])
    return _back_to_users(context, demarche_id)


@router.post("/demarches/{demarche_id}/habilitations/{habilitation_id}/role")
def change_role(
    request: Request,
    demarche_id: str,
    habilitation_id: int,
    user: UserDep,
    context: ContextDep,
    role: Annotated[str, Form(max_length=64)] = "",
    personne: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    act_and_tell(
        context,
        request,
        "L'habilitation est modifiée.",
        lambda work: work.habilitations.change_role(
            actor_of(request, user), demarche_id, habilitation_id, role
        ),
    )
    return _back_to_users(context, demarche_id, personne)


@router.post("/demarches/{demarche_id}/habilitations/{habilitation_id}/suppression")
def remove(
    request: Request,
    demarche_id: str,
    habilitation_id: int,
    user: UserDep,
    context: ContextDep,
    personne: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    act_and_tell(
        context,
        request,
        "L'habilitation est supprimée.",
        lambda work: work.habilitations.remove(
            actor_of(request, user), demarche_id, habilitation_id
        ),
    )
    return _back_to_users(context, demarche_id, personne)

"""Portal pages of the habilitation flows (first guide): « Mes démarches », « Ajouter une
démarche », and the users screen of a démarche. Thin: every rule lives in the services.

A refused action re-renders its form with the French reason next to the field and the
person's inputs kept; a successful one redirects (no double submission on reload).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from bridge.api.context import AppContext, Services, client_ip
from bridge.api.csrf import require_csrf
from bridge.api.oidc import OidcLogin, SessionUser
from bridge.audit.service import Actor
from bridge.catalog import Demarche
from bridge.errors import BridgeError
from bridge.etablissement.service import AlreadyManagedError, demarche_or_refuse
from bridge.habilitation.models import GrantedHow, Habilitation
from bridge.notification import Email

_FLASH = "flash"
_ACTION_LABELS = {
    "habilitation-accordee": "habilitation accordée",
    "habilitation-modifiee": "habilitation modifiée",
    "habilitation-retiree": "habilitation supprimée",
    "demande-acces-refusee": "demande d'accès refusée",
}


def action_label(action: str) -> str:
    """The French words of an audit action, for the history of the users screen."""
    return _ACTION_LABELS.get(action, action.replace("-", " "))


class LoginRequiredError(Exception):
    """Raised by `page_user` when nobody is logged in: the handler redirects to the login."""


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


def page_user(request: Request) -> SessionUser:
    """The logged-in person of a page; nobody logged in sends the browser to the login."""
    login: OidcLogin = request.app.state.login
    user = login.current_user(request)
    if user is None:
        raise LoginRequiredError
    return user


UserDep = Annotated[SessionUser, Depends(page_user)]


def actor_of(request: Request, user: SessionUser) -> Actor:
    """The logged-in person as the services' actor (with the address the request came from)."""
    return Actor(user.sub, user.display_name, client_ip(request), user.operator)


def flash(request: Request, message: str, kind: str = "success") -> None:
    """A message shown once on the next page (after a redirect)."""
    request.session[_FLASH] = {"message": message, "kind": kind}


def render_page(
    templates: Jinja2Templates,
    request: Request,
    name: str,
    user: SessionUser | None,
    status: int = 200,
    **values: Any,
) -> Response:
    """A portal page, with the pending flash message."""
    values.setdefault("flash", request.session.pop(_FLASH, None))
    return templates.TemplateResponse(request, name, {"user": user, **values}, status_code=status)


def act_and_tell(
    context: AppContext, request: Request, done: str, action: Callable[[Services], Email | None]
) -> None:
    """Run one change in its unit of work, send its e-mail after the commit, and tell the
    person the outcome (the refusal's French reason, or `done`)."""
    try:
        with context.work() as work:
            email = action(work)
    except BridgeError as exc:
        flash(request, exc.detail, "error")
        return
    if email is not None:
        context.send(email)
    flash(request, done)


def pages_router(context: AppContext, login: OidcLogin, templates: Jinja2Templates) -> APIRouter:
    router = APIRouter(include_in_schema=False, dependencies=[Depends(require_csrf)])
    catalog = context.catalog
    templates.env.globals.update(habilitation_line=habilitation_line, action_label=action_label)

    def act(request: Request, done: str, action: Callable[[Services], Email | None]) -> None:
        act_and_tell(context, request, done, action)

    def render(
        request: Request, name: str, user: SessionUser, status: int = 200, **values: Any
    ) -> Response:
        return render_page(templates, request, name, user, status, **values)

    # --- Mes démarches -------------------------------------------------------------------

    @router.get("/")
    def home(request: Request) -> Response:
        user = login.current_user(request)
        if user is None:
            return templates.TemplateResponse(request, "home.html", {"user": None})
        with context.work() as work:
            mine = work.habilitations.active(user.sub)
            requests = [r for r in work.habilitations.my_requests(user.sub)]
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
        return render(
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

    # --- Ajouter une démarche ------------------------------------------------------------

    def add_page(
        request: Request,
        user: SessionUser,
        demarche: Demarche,
        onglet: str,
        valeurs: dict[str, str],
        erreurs: dict[str, str],
        status: int = 200,
    ) -> Response:
        """« Ajouter une démarche », on the code or request tab, with inputs and errors kept."""
        return render(
            request,
            "ajouter.html",
            user,
            status=status,
            demarche=demarche,
            onglet=onglet,
            valeurs=valeurs,
            erreurs=erreurs,
        )

    @router.get("/demarches/{demarche_id}/ajouter")
    def add_form(
        request: Request, demarche_id: str, user: UserDep, onglet: str = "code"
    ) -> Response:
        demarche = demarche_or_refuse(catalog, demarche_id)
        return add_page(request, user, demarche, onglet, {}, {})

    @router.post("/demarches/{demarche_id}/activation")
    def add_with_code(
        request: Request,
        demarche_id: str,
        user: UserDep,
        siret: Annotated[str, Form(max_length=40)] = "",
        code: Annotated[str, Form(max_length=40)] = "",
    ) -> Response:
        demarche = demarche_or_refuse(catalog, demarche_id)
        try:
            with context.work() as work:
                work.habilitations.activate(actor_of(request, user), demarche.id, siret, code)
        except AlreadyManagedError as exc:
            return add_page(
                request,
                user,
                demarche,
                "demande",
                {"siret": siret},
                {"siret": exc.detail},
                exc.status,
            )
        except BridgeError as exc:
            field = str(exc.extra.get("field", "code"))
            return add_page(
                request, user, demarche, "code", {"siret": siret}, {field: exc.detail}, exc.status
            )
        flash(request, f"La démarche « {demarche.title} » est ajoutée : vous en êtes gestionnaire.")
        return RedirectResponse("/", status_code=303)

    @router.post("/demarches/{demarche_id}/demandes")
    def add_with_request(
        request: Request,
        demarche_id: str,
        user: UserDep,
        siret: Annotated[str, Form(max_length=40)] = "",
        role: Annotated[str, Form(max_length=64)] = "",
    ) -> Response:
        demarche = demarche_or_refuse(catalog, demarche_id)
        try:
            with context.work() as work:
                _, email = work.habilitations.request_access(
                    actor_of(request, user), demarche.id, siret, role or None
                )
        except BridgeError as exc:
            field = str(exc.extra.get("field", "siret"))
            return add_page(
                request,
                user,
                demarche,
                "demande",
                {"siret": siret, "role": role},
                {field: exc.detail},
                exc.status,
            )
        context.send(email)
        flash(
            request, f"Votre demande d'accès à « {demarche.title} » est envoyée aux gestionnaires."
        )
        return RedirectResponse("/", status_code=303)

    @router.post("/demarches/{demarche_id}/demandes/{request_id}/retrait")
    def withdraw(request: Request, demarche_id: str, request_id: int, user: UserDep) -> Response:
        try:
            with context.work() as work:
                work.habilitations.withdraw(actor_of(request, user), demarche_id, request_id)
            flash(request, "Votre demande est retirée.")
        except BridgeError as exc:
            flash(request, exc.detail, "error")
        return RedirectResponse("/", status_code=303)

    # --- Utilisateurs de la démarche -----------------------------------------------------

    @router.get("/demarches/{demarche_id}/utilisateurs")
    def users(
        request: Request,
        demarche_id: str,
        user: UserDep,
        q: str = "",
        role: str = "",
        tiers: str = "",
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        personne: str = "",
    ) -> Response:
        demarche = demarche_or_refuse(catalog, demarche_id)
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
            sirets = sorted(managed)
            delegations = work.delegations.of_etablissements(actor, demarche.id)
        return render(
            request,
            "utilisateurs.html",
            user,
            demarche=demarche,
            resultat=result,
            demandes=pending,
            detail=detail,
            sirets=sirets,
            delegations=delegations,
            filtres={"q": q, "role": role, "tiers": tiers},
        )

    def back_to_users(demarche_id: str, personne: str = "") -> RedirectResponse:
        suffix = f"?personne={personne}" if personne else ""
        return RedirectResponse(f"/demarches/{demarche_id}/utilisateurs{suffix}", status_code=303)

    @router.post("/demarches/{demarche_id}/demandes/{request_id}/approbation")
    def approve(
        request: Request,
        demarche_id: str,
        request_id: int,
        user: UserDep,
        role: Annotated[str, Form(max_length=64)] = "",
    ) -> Response:
        act(
            request,
            "La demande est validée.",
            lambda work: work.habilitations.approve(
                actor_of(request, user), demarche_id, request_id, role or None
            )[1],
        )
        return back_to_users(demarche_id)

    @router.post("/demarches/{demarche_id}/demandes/{request_id}/refus")
    def refuse(
        request: Request,
        demarche_id: str,
        request_id: int,
        user: UserDep,
        motif: Annotated[str, Form(max_length=500)] = "",
    ) -> Response:
        act(
            request,
            "La demande est refusée ; la personne verra le motif.",
            lambda work: work.habilitations.refuse(
                actor_of(request, user), demarche_id, request_id, motif
            ),
        )
        return back_to_users(demarche_id)

    @router.post("/demarches/{demarche_id}/habilitations")
    def grant(
        request: Request,
        demarche_id: str,
        user: UserDep,
        email: Annotated[str, Form(max_length=254)] = "",
        role: Annotated[str, Form(max_length=64)] = "",
        siret: Annotated[str, Form(max_length=40)] = "",
    ) -> Response:
        try:
            with context.work() as work:
                person = work.habilitations.person_by_email(email)
                work.habilitations.grant(
                    actor_of(request, user), demarche_id, person.subject, role, siret
                )
            flash(request, "L'habilitation est ajoutée.")
            return back_to_users(demarche_id, person.subject)
        except BridgeError as exc:
            flash(request, exc.detail, "error")
        return back_to_users(demarche_id)

    @router.post("/demarches/{demarche_id}/habilitations/{habilitation_id}/role")
    def change_role(
        request: Request,
        demarche_id: str,
        habilitation_id: int,
        user: UserDep,
        role: Annotated[str, Form(max_length=64)] = "",
        personne: Annotated[str, Form(max_length=64)] = "",
    ) -> Response:
        def change(work: Services) -> None:
            work.habilitations.change_role(
                actor_of(request, user), demarche_id, habilitation_id, role
            )

        act(request, "L'habilitation est modifiée.", change)
        return back_to_users(demarche_id, personne)

    @router.post("/demarches/{demarche_id}/habilitations/{habilitation_id}/suppression")
    def remove(
        request: Request,
        demarche_id: str,
        habilitation_id: int,
        user: UserDep,
        personne: Annotated[str, Form(max_length=64)] = "",
    ) -> Response:
        act(
            request,
            "L'habilitation est supprimée.",
            lambda work: work.habilitations.remove(
                actor_of(request, user), demarche_id, habilitation_id
            ),
        )
        return back_to_users(demarche_id, personne)

    return router

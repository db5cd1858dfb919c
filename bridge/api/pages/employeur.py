"""Portal pages of the employer space (second guide): its home with the left menu, the
gestionnaires' list, « Ajouter un gestionnaire » (with « Ajouter une unité »), a
gestionnaire's details, and the operator's page that opens an organisation.

Thin: every rule is in `bridge.employeur.service`. A refusal re-renders the form with the
French reason next to its field and the inputs kept; a success redirects.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from bridge.api.pages.common import PageDep, pages_router
from bridge.catalog import Demarche
from bridge.db import MAX_STORE_INT
from bridge.employeur.models import Organisation
from bridge.employeur.service import Details
from bridge.errors import BridgeError, ForbiddenError, InvalidInputError
from bridge.notification import WAITING
from bridge.services import Services

_PERSON_FIELDS = (
    "civilite",
    "nom",
    "prenom",
    "email",
    "telephone_fixe",
    "telephone_mobile",
    "unite",
    "niveau",
    "role",
    "nouvelle_unite",
)
_ORGANISATION_FIELDS = ("siret", "type", "raison_sociale")


def _details(values: dict[str, str]) -> Details:
    unite = values.get("unite", "")
    if unite and not (unite.isascii() and unite.isdigit() and int(unite) <= MAX_STORE_INT):
        raise InvalidInputError("Cette unité n'existe pas dans l'organisation.", field="unite")
    return Details(
        values.get("civilite", ""),
        values.get("nom", ""),
        values.get("prenom", ""),
        values.get("email", ""),
        values.get("telephone_fixe"),
        values.get("telephone_mobile"),
        int(unite) if unite else None,
        values.get("niveau"),
    )


router = pages_router()


async def _form_values(request: Request, fields: tuple[str, ...]) -> dict[str, str]:
    form = await request.form()
    return {k: str(form.get(k, ""))[:254].strip() for k in fields}


def _space(
    page: PageDep, work: Services, organisation: Organisation, demarche: Demarche, roles: set[str]
) -> dict[str, Any]:
    """What every page of an organisation shows: its name, type and left menu (read in
    the route's own unit of work, from the rights the route has just checked)."""
    kind = page.context.catalog.organisation_type(organisation.type)
    return {
        "organisation": organisation,
        "organisation_nom": work.employeur.organisation_name(organisation),
        "organisation_type": kind.label if kind else organisation.type,
        "demarche": demarche,
        "menu": demarche.menu_for(organisation.type, roles),
        "mes_roles": roles,
    }


def _member_space(page: PageDep, siret: str) -> dict[str, Any]:
    with page.context.work() as work:
        return _space(page, work, *work.employeur.require_member(page.actor, siret))


def _password_sent(sent: bool, failed: str) -> str:
    return "Son mot de passe temporaire lui a été envoyé par courriel." if sent else failed


# --- home and menu -------------------------------------------------------------------------


@router.get("/employeur")
def choose(page: PageDep) -> Response:
    with page.context.work() as work:
        mine = work.employeur.organisations_of(page.user.sub)
    if len(mine) == 1:
        return RedirectResponse(f"/employeur/{mine[0][0].siret}", status_code=303)
    return page.render("employeur_choix.html", organisations=mine)


@router.get("/employeur/{siret}")
def home(page: PageDep, siret: str) -> Response:
    return page.render("employeur_accueil.html", **_member_space(page, siret))


@router.get("/employeur/{siret}/mes-donnees")
def personal_data(page: PageDep, siret: str) -> Response:
    """« Mes données personnelles » inside the employer space, its left menu kept; each change
    on Keycloak's pages comes back here."""
    values = _member_space(page, siret)
    back = f"/employeur/{values['organisation'].siret}/mes-donnees"
    return page.render("employeur_mes_donnees.html", retour=back, **values)


@router.get("/employeur/{siret}/menu/{entry_id}")
def menu_entry(page: PageDep, siret: str, entry_id: str) -> Response:
    """A menu entry's destination, only for those the catalog shows it to."""
    values = _member_space(page, siret)
    entry = next((e for e in values["menu"] if e.id == entry_id), None)
    if entry is None:
        raise ForbiddenError(
            "Cette rubrique n'est pas ouverte à votre organisation ou à votre rôle."
        )
    return RedirectResponse(entry.address(values["organisation"].siret), status_code=303)


# --- the gestionnaires' list ---------------------------------------------------------------


@router.get("/employeur/{siret}/gestionnaires")
def listing(
    page: PageDep,
    siret: str,
    recherche: str = "",
    unite: str = "",
    role: str = "",
    numero: Annotated[int, Query(alias="page")] = 1,
) -> Response:
    actor = page.actor
    with page.context.work() as work:
        organisation, demarche, roles = work.employeur.require_administrator(actor, siret)
        found = work.employeur.page(
            organisation.siret,
            search=recherche[:100],
            unite_id=int(unite)
            if unite.isascii() and unite.isdigit() and len(unite) < 19
            else None,
            role=role[:64],
            page=max(1, min(numero, 100_000)),
        )
        units = work.employeur.units(organisation.siret)
        manageable = {
            r.id for r in demarche.roles if demarche.may_grant(roles, r.id, operator=actor.operator)
        }
        renewable = {
            r.id
            for r in demarche.roles
            if demarche.may_renew_password(roles, {r.id}, operator=actor.operator)
        }
        shown = _space(page, work, organisation, demarche, roles)
    return page.render(
        "employeur_gestionnaires.html",
        **shown,
        resultats=found,
        unites=units,
        filtres={"recherche": recherche, "unite": unite, "role": role},
        gerables=manageable,
        renouvelables=renewable,
    )


# --- « Ajouter un gestionnaire » -----------------------------------------------------------


def _add_form(
    page: PageDep,
    siret: str,
    values: dict[str, str],
    refusal: BridgeError | None = None,
    forced_field: str | None = None,
) -> Response:
    actor = page.actor
    with page.context.work() as work:
        organisation, demarche, roles = work.employeur.require_administrator(actor, siret)
        units = work.employeur.units(organisation.siret)
        choices = work.employeur.grantable_roles(actor, demarche, roles)
        shown = _space(page, work, organisation, demarche, roles)
    return page.form(
        "employeur_ajout.html",
        values,
        refusal,
        "email",
        forced_field=forced_field,
        **shown,
        unites=units,
        roles_possibles=[demarche.role(r) for r in choices],
    )


@router.get("/employeur/{siret}/gestionnaires/nouveau")
def new(page: PageDep, siret: str) -> Response:
    return _add_form(page, siret, {"role": "gestionnaire"})


@router.post("/employeur/{siret}/gestionnaires")
async def add(page: PageDep, siret: str) -> Response:
    values = await _form_values(page.request, _PERSON_FIELDS)
    form = await page.request.form()
    actor = page.actor
    if form.get("action") == "ajouter-unite":  # « Ajouter une unité », inputs kept

        def add_unit() -> int:
            with page.context.work() as work:
                return work.employeur.add_unit(actor, siret, values["nouvelle_unite"]).id

        try:
            values["unite"] = str(await run_in_threadpool(add_unit))
        except BridgeError as exc:
            return _add_form(page, siret, values, exc, "nouvelle_unite")
        values["nouvelle_unite"] = ""
        return _add_form(page, siret, values)

    def create() -> tuple[str, str, str, bool]:
        with page.context.work() as work:
            g = work.employeur.add(actor, siret, _details(values), values["role"])
        return g.siret, g.subject, g.login_id, work.delivery.sent

    try:
        org, subject, login_id, sent = await run_in_threadpool(create)
    except BridgeError as exc:
        return _add_form(page, siret, values, exc)
    page.flash(
        f"Le gestionnaire est habilité. Son identifiant est {login_id} : transmettez-le-lui. "
        + _password_sent(sent, f"Le courriel de son mot de passe temporaire est {WAITING}."),
    )
    return RedirectResponse(f"/employeur/{org}/gestionnaires/{subject}", status_code=303)


# --- one gestionnaire ----------------------------------------------------------------------


def _detail_page(
    page: PageDep,
    siret: str,
    subject: str,
    values: dict[str, str] | None = None,
    refusal: BridgeError | None = None,
) -> Response:
    actor = page.actor
    with page.context.work() as work:
        organisation, demarche, roles = work.employeur.require_administrator(actor, siret)
        row = work.employeur.row(work.employeur.gestionnaire(organisation.siret, subject))
        units = work.employeur.units(organisation.siret)
        choices = work.employeur.grantable_roles(actor, demarche, roles)
        may_manage = demarche.may_grant(roles, row.gestionnaire.role, operator=actor.operator)
        may_renew = demarche.may_renew_password(
            roles, {row.gestionnaire.role}, operator=actor.operator
        )
        shown = _space(page, work, organisation, demarche, roles)
    g, p = row.gestionnaire, row.person
    current = {
        "civilite": g.civility,
        "nom": p.last_name,
        "prenom": p.first_name,
        "telephone_fixe": g.landline or "",
        "telephone_mobile": g.mobile or "",
        "unite": str(g.unite_id or ""),
        "niveau": g.level or "",
        "role": g.role,
    }
    return page.form(
        "employeur_gestionnaire.html",
        values or current,
        refusal,
        "nom",
        **shown,
        ligne=row,
        unites=units,
        roles_possibles=[demarche.role(r) for r in dict.fromkeys([*choices, g.role])],
        peut_gerer=may_manage,
        peut_renouveler=may_renew,
        peut_transferer=demarche.may_grant(
            roles, demarche.first_holder_role, operator=actor.operator
        )
        and g.role != demarche.first_holder_role
        and g.active,
    )


@router.get("/employeur/{siret}/gestionnaires/{subject}")
def detail(page: PageDep, siret: str, subject: str) -> Response:
    return _detail_page(page, siret, subject)


@router.post("/employeur/{siret}/gestionnaires/{subject}")
async def modify(page: PageDep, siret: str, subject: str) -> Response:
    values = await _form_values(page.request, _PERSON_FIELDS)
    actor = page.actor

    def change() -> None:
        with page.context.work() as work:
            work.employeur.modify(actor, siret, subject, _details(values), values["role"])

    try:
        await run_in_threadpool(change)
    except BridgeError as exc:
        return _detail_page(page, siret, subject, values, exc)
    page.flash("Les informations du gestionnaire sont enregistrées.")
    return RedirectResponse(f"/employeur/{siret}/gestionnaires/{subject}", status_code=303)


_DONE = {
    "mot-de-passe": "Le mot de passe est renouvelé : un mot de passe temporaire a "
    "été envoyé au gestionnaire, ses sessions ouvertes sont fermées.",
    "desactivation": "Le gestionnaire est désactivé : il ne peut plus se connecter.",
    "reactivation": "Le gestionnaire est réactivé.",
}


async def _act(page: PageDep, siret: str, subject: str, what: str) -> Response:
    actor = page.actor

    def run() -> str:
        with page.context.work() as work:
            if what == "mot-de-passe":
                work.employeur.renew_password(actor, siret, subject)
            else:
                work.employeur.set_active(actor, siret, subject, what == "reactivation")
        if not work.delivery.sent:
            return f"Le mot de passe est renouvelé ; son courriel est {WAITING}."
        return _DONE[what]

    try:
        page.flash(await run_in_threadpool(run))
    except BridgeError as exc:
        page.flash(exc.detail, "error")
    return RedirectResponse(f"/employeur/{siret}/gestionnaires/{subject}", status_code=303)


@router.post("/employeur/{siret}/gestionnaires/{subject}/mot-de-passe")
async def renew(page: PageDep, siret: str, subject: str) -> Response:
    return await _act(page, siret, subject, "mot-de-passe")


@router.post("/employeur/{siret}/gestionnaires/{subject}/transfert")
async def transfer(page: PageDep, siret: str, subject: str) -> Response:
    """« Transférer le rôle »: this gestionnaire becomes the main administrator, the previous
    one takes their former role (the operator only, by the catalog)."""
    actor = page.actor
    await run_in_threadpool(
        page.act,
        "Le rôle d'administrateur principal est transféré.",
        lambda work: work.employeur.transfer_principal(actor, siret, subject),
    )
    return RedirectResponse(f"/employeur/{siret}/gestionnaires/{subject}", status_code=303)


@router.post("/employeur/{siret}/gestionnaires/{subject}/desactivation")
async def deactivate(page: PageDep, siret: str, subject: str) -> Response:
    return await _act(page, siret, subject, "desactivation")


@router.post("/employeur/{siret}/gestionnaires/{subject}/reactivation")
async def reactivate(page: PageDep, siret: str, subject: str) -> Response:
    return await _act(page, siret, subject, "reactivation")


# --- the operator --------------------------------------------------------------------------


def _operator_page(
    page: PageDep, values: dict[str, str], refusal: BridgeError | None = None
) -> Response:
    return page.form(
        "employeur_operateur.html",
        values,
        refusal,
        "siret",
        types=page.context.catalog.organisation_types,
    )


@router.get("/operateur/organisations")
def operator_home(page: PageDep) -> Response:
    if not page.user.operator:
        raise ForbiddenError("Cette page est réservée à l'opérateur de la plateforme.")
    return _operator_page(page, {"civilite": "madame"})


@router.post("/operateur/organisations")
async def open_organisation(page: PageDep) -> Response:
    """One form: the organisation, then its main administrator (both or neither)."""
    values = await _form_values(page.request, _ORGANISATION_FIELDS + _PERSON_FIELDS)
    actor = page.actor

    def run() -> tuple[str, str, bool]:
        with page.context.work() as work:
            organisation = work.employeur.create_organisation(
                actor, values["siret"], values["type"], values["raison_sociale"]
            )
            principal = work.employeur.appoint_principal(
                actor, organisation.siret, _details({**values, "unite": ""})
            )
        return organisation.siret, principal.login_id, work.delivery.sent

    try:
        siret, login_id, sent = await run_in_threadpool(run)
    except BridgeError as exc:
        return _operator_page(page, values, exc)
    page.flash(
        f"L'organisation {siret} est ouverte. Identifiant de son administrateur principal : "
        f"{login_id} (à lui transmettre). "
        + _password_sent(sent, f"Le courriel de son mot de passe temporaire est {WAITING}."),
    )
    return RedirectResponse("/operateur/organisations", status_code=303)

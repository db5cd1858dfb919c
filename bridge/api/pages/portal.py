"""Portal pages that are not about habilitations: the person's own data, a new activation
link, the legal pages."""

from __future__ import annotations

import json
import logging
from typing import Annotated

from fastapi import BackgroundTasks, Form
from fastapi.responses import RedirectResponse, Response

from bridge.accounts.activation import VISITOR, valid_address
from bridge.api.deps import client_ip
from bridge.api.pages.common import PageDep, Visit, VisitDep, pages_router
from bridge.api.throttle import Throttle, origin_key
from bridge.audit.service import Actor
from bridge.bootstrap import AppContext
from bridge.errors import BridgeError
from bridge.keycloak_admin import KeycloakRejectedError, KeycloakRetriableError
from bridge.services import activation_policy

PERSONAL_DATA_PATH = "/mes-donnees"
NEW_LINK_PATH = "/compte/nouveau-lien"
TOO_MANY_ASKS = (
    "Trop de demandes de lien depuis votre connexion : réessayez dans une heure, ou contactez "
    "l'assistance technique."
)
_ASKED = "nouveau_lien"  # the session remembers the address until the answer is shown

router = pages_router()
log = logging.getLogger(__name__)


@router.get(PERSONAL_DATA_PATH)
def personal_data(page: PageDep) -> Response:
    """What Keycloak holds about the person; each change is made on Keycloak's pages."""
    return page.render("mes_donnees.html")


@router.post(f"{PERSONAL_DATA_PATH}/export")
def personal_data_export(page: PageDep) -> Response:
    """The store's part of the person's data as a JSON file (a POST: the export is audited)."""
    with page.context.work() as work:
        data = work.personal_data.export(page.actor)
    day = data["genere_le"][:10]
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        media_type="application/json; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="mes-donnees-{day}.json"',
            "Cache-Control": "no-store",
        },
    )


@router.get(NEW_LINK_PATH)
def new_link_form(visit: VisitDep) -> Response:
    """Where the expired-link page and the login page send who never activated."""
    policy = activation_policy(visit.context.settings)
    asked = visit.request.session.pop(_ASKED, None)
    return visit.render(
        "nouveau_lien.html", envoye=asked, duree=policy.lifespan_text, valeurs={}, erreurs={}
    )


@router.post(NEW_LINK_PATH)
def new_link(
    visit: VisitDep,
    background: BackgroundTasks,
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """Always the same answer, in the same time, whether or not the address has an account
    waiting: Keycloak is asked only once the answer has left."""
    origin = client_ip(visit.request)
    throttle: Throttle = visit.request.app.state.new_link_throttle
    if not throttle.allow(origin_key(origin)):
        log.warning("nouveau-lien-limite", extra={"adresse_ip": origin})
        return _new_link_refused(visit, email, 429, TOO_MANY_ASKS)
    try:
        address = valid_address(email)
    except BridgeError as refusal:
        return _new_link_refused(visit, email, refusal.status, refusal.detail)
    background.add_task(_send_new_link, visit.context, address, Actor(VISITOR, "Visiteur", origin))
    visit.request.session[_ASKED] = address
    return RedirectResponse(NEW_LINK_PATH, status_code=303)


def _new_link_refused(visit: Visit, email: str, status: int, reason: str) -> Response:
    """The form again, the address kept, the French reason under it."""
    return visit.render(
        "nouveau_lien.html",
        status,
        envoye=None,
        valeurs={"email": email},
        erreurs={"email": reason},
    )


def _send_new_link(context: AppContext, address: str, actor: Actor) -> None:
    """After the answer: a failure is the operators' to see, never the visitor's to learn from."""
    try:
        with context.work() as work:
            sent = work.activation_links.send_again(address, actor)
    except (KeycloakRetriableError, KeycloakRejectedError):
        log.exception("nouveau-lien-echec")
        return
    log.info("nouveau-lien", extra={"envoye": sent})


def _text_page(visit: VisitDep, heading: str, paragraphs: list[str]) -> Response:
    return visit.templates.TemplateResponse(
        visit.request,
        "page.html",
        {"user": visit.user, "heading": heading, "paragraphs": paragraphs},
    )


@router.get("/mentions-legales")
def legal_notice(visit: VisitDep) -> Response:
    return _text_page(
        visit,
        "Mentions légales",
        [
            "Ce portail est un logiciel libre de gestion des identités et des habilitations "
            "pour les démarches professionnelles en ligne.",
            "L'opérateur qui le déploie publie ici son identité, son directeur de publication "
            "et son hébergeur.",
        ],
    )


@router.get("/cgu")
def terms(visit: VisitDep) -> Response:
    return _text_page(
        visit,
        "Conditions générales d'utilisation",
        [
            "Les conditions générales d'utilisation en vigueur vous sont présentées et doivent "
            "être acceptées lors de votre première connexion.",
        ],
    )

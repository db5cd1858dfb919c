"""Portal pages that are not about habilitations: the person's own data, the legal pages."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from bridge.api.deps import TemplatesDep
from bridge.api.pages.common import UserDep, current_user, pages_router, render_page

PERSONAL_DATA_PATH = "/mes-donnees"

router = pages_router()


@router.get(PERSONAL_DATA_PATH)
def personal_data(request: Request, user: UserDep, templates: TemplatesDep) -> Response:
    """What Keycloak holds about the person; each change is made on Keycloak's pages."""
    return render_page(templates, request, "mes_donnees.html", user)


def _text_page(
    templates: TemplatesDep, request: Request, heading: str, paragraphs: list[str]
) -> Response:
    return templates.TemplateResponse(
        request,
        "page.html",
        {"user": current_user(request), "heading": heading, "paragraphs": paragraphs},
    )


@router.get("/mentions-legales")
def legal_notice(request: Request, templates: TemplatesDep) -> Response:
    return _text_page(
        templates,
        request,
        "Mentions légales",
        [
            "Ce portail est un logiciel libre de gestion des identités et des habilitations "
            "pour les démarches professionnelles en ligne.",
            "L'opérateur qui le déploie publie ici son identité, son directeur de publication "
            "et son hébergeur.",
        ],
    )


@router.get("/cgu")
def terms(request: Request, templates: TemplatesDep) -> Response:
    return _text_page(
        templates,
        request,
        "Conditions générales d'utilisation",
        [
            "Les conditions générales d'utilisation en vigueur vous sont présentées et doivent "
            "être acceptées lors de votre première connexion.",
        ],
    )

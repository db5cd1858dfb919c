"""Portal pages that are not about habilitations: the person's own data, the legal pages."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from bridge.api.csrf import require_csrf
from bridge.api.oidc import OidcLogin
from bridge.api.pages import UserDep, render_page
from bridge.settings import Settings


def portal_router(settings: Settings, login: OidcLogin, templates: Jinja2Templates) -> APIRouter:
    """The portal's HTML pages; every unsafe request must carry the CSRF token."""
    router = APIRouter(include_in_schema=False, dependencies=[Depends(require_csrf)])
    templates.env.globals["personal_data_path"] = "/mes-donnees"

    @router.get("/mes-donnees")
    def personal_data(request: Request, user: UserDep) -> Response:
        """What Keycloak holds about the person; each change is made on Keycloak's pages."""
        return render_page(templates, request, "mes_donnees.html", user)

    @router.get("/mentions-legales")
    def legal_notice(request: Request) -> Response:
        return templates.TemplateResponse(
            request,
            "page.html",
            {
                "user": login.current_user(request),
                "heading": "Mentions légales",
                "paragraphs": [
                    "Ce portail est un logiciel libre de gestion des identités et des habilitations "
                    "pour les démarches professionnelles en ligne.",
                    "L'opérateur qui le déploie publie ici son identité, son directeur de publication "
                    "et son hébergeur.",
                ],
            },
        )

    @router.get("/cgu")
    def terms(request: Request) -> Response:
        return templates.TemplateResponse(
            request,
            "page.html",
            {
                "user": login.current_user(request),
                "heading": "Conditions générales d'utilisation",
                "paragraphs": [
                    "Les conditions générales d'utilisation en vigueur vous sont présentées et doivent "
                    "être acceptées lors de votre première connexion.",
                ],
            },
        )

    return router

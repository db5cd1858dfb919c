"""Portal pages: the landing page, « Mes démarches », and the legal pages."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from bridge.api.csrf import require_csrf
from bridge.api.oidc import OidcLogin
from bridge.settings import Settings


@dataclass(frozen=True)
class DemarcheCard:
    """A démarche as the home page shows it."""

    id: str
    title: str
    description: str
    url: str | None


# The démarches of both guides; the policy catalog will own this list (habilitations issue).
_DEMARCHES = (
    (
        "mon-activite-formation",
        "Mon Activité Formation",
        "Remplir votre déclaration d'activité et votre bilan pédagogique et financier.",
    ),
    (
        "mes-collectes-formation",
        "Mes collectes formation",
        "Les collectes des organismes de formation.",
    ),
    ("mon-suivi-controle", "Mon suivi du contrôle", "Le suivi du contrôle de votre organisme."),
    (
        "espace-employeur-cpf",
        "Espace employeur du SI CPF",
        "Gérer les gestionnaires et les habilitations de votre organisation.",
    ),
)


def portal_router(settings: Settings, login: OidcLogin, templates: Jinja2Templates) -> APIRouter:
    """The portal's HTML pages; every unsafe request must carry the CSRF token."""
    router = APIRouter(include_in_schema=False, dependencies=[Depends(require_csrf)])
    cards = [
        DemarcheCard(id_, title, description, settings.demarche_urls.get(id_))
        for id_, title, description in _DEMARCHES
    ]

    @router.get("/")
    def home(request: Request) -> Response:
        user = login.current_user(request)
        return templates.TemplateResponse(request, "home.html", {"user": user, "demarches": cards})

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

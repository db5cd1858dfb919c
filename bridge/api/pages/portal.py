"""Portal pages that are not about habilitations: the person's own data, the legal pages."""

from __future__ import annotations

from fastapi.responses import Response

from bridge.api.pages.common import PageDep, VisitDep, pages_router

PERSONAL_DATA_PATH = "/mes-donnees"

router = pages_router()


@router.get(PERSONAL_DATA_PATH)
def personal_data(page: PageDep) -> Response:
    """What Keycloak holds about the person; each change is made on Keycloak's pages."""
    return page.render("mes_donnees.html")


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

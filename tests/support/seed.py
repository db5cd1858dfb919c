"""Put the store in a known state through the services (never through raw SQL)."""

from __future__ import annotations

from bridge.api.context import AppContext
from bridge.audit.service import Actor
from bridge.etablissement.models import Etablissement
from bridge.etablissement.siret import siren_of
from tests.support.sirets import new_siret

OPERATOR = Actor("operateur-tests", "Opérateur des tests", operator=True)


def etablissement_with_code(
    context: AppContext, demarche: str = "mon-activite-formation", name: str = "EKYSS"
) -> tuple[str, str]:
    """A new establishment and the plaintext of its activation code (as the letter carries it)."""
    siret = new_siret()
    with context.work() as work:
        work.session.add(Etablissement(siret=siret, siren=siren_of(siret), name=name))
        work.session.flush()
        code = work.etablissements.issue_code(OPERATOR, siret, demarche)
    return siret, code

"""The employer space in tests: an operator, an organisation, accounts made through the API.

An account made by the bridge has a temporary password and the CGU still to accept; the
browser test goes through that first login for real. API tests finish it through the admin
API instead (a permanent password, the CGU version set), so that the person can get a real
token of the real Keycloak.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import Any

from bridge.audit.service import Actor
from bridge.habilitation.operators import designate
from tests.support.callers import Caller, caller_of, new_caller
from tests.support.projection import eventually, values_of
from tests.support.sirets import new_siret
from tests.support.stack import PASSWORD, Person, Platform, finish_first_login

ESPACE = "/employeur/organisations"
TEMPORARY = re.compile(r"Mot de passe temporaire : (\S+)")


def make_operator(platform: Platform, subject: str) -> None:
    """What `python -m bridge operateur designer` does: the store's designation and the role."""
    with platform.context.work() as work:
        designate(work.session, Actor("tests", "Tests"), subject)
    admin = platform.admin()
    admin.assign_realm_roles(subject, [admin.get_realm_role("operateur")])


def operator_caller(platform: Platform, callers: list[Caller]) -> Caller:
    """A designated operator holding the realm role `operateur`, with a token that says so."""
    operator = new_caller(platform, callers, "Opé", "Rateur")
    make_operator(platform, operator.person.id)
    operator.http.headers["Authorization"] = f"Bearer {platform.token_for(operator.person)}"
    return operator


def new_organisation(operator: Caller, type_id: str = "employeur") -> str:
    siret = new_siret()
    response = operator.post(
        ESPACE, json={"siret": siret, "type": type_id, "raison_sociale": f"Organisation {type_id}"}
    )
    assert response.status_code == 201, response.text
    return siret


def person_form(first: str, last: str, **extra: Any) -> dict[str, Any]:
    """The « Ajouter un gestionnaire » fields for a new person with a unique e-mail."""
    return {
        "civilite": "madame",
        "nom": last,
        "prenom": first,
        "email": f"{_ascii(first)}.{uuid.uuid4().hex[:8]}@employeur.example.fr",
        "telephone_fixe": "01 23 45 67 89",
        **extra,
    }


def _ascii(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-") or "personne"


def temporary_password_of(platform: Platform, email: str, count: int = 1) -> str:
    mail = platform.mail.wait_for(email, count=count)
    found = TEMPORARY.search(mail.text)
    assert found, mail.text
    return found.group(1)


def account_caller(platform: Platform, callers: list[Caller], created: dict[str, Any]) -> Caller:
    """The person an API call created, first login done through the admin API, as a caller."""
    admin = platform.admin()
    user_id = created["personne"]
    # Once the projection has written the new right: the first login (below) and the
    # worker's write would otherwise race on the attribute map (each replaces it whole).
    eventually(lambda: values_of(admin, user_id), what="droit projeté dans Keycloak")
    finish_first_login(admin, user_id)
    person = Person(
        user_id,
        created["identifiant"],
        created["email"],
        created["prenom"],
        created["nom"],
        PASSWORD,
    )
    return caller_of(platform, callers, person)

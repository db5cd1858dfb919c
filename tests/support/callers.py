"""API callers for integration tests: a person with a real access token, and the helpers that
make one gestionnaire of a new SIRET."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from tests.support.seed import etablissement_with_code
from tests.support.sirets import new_siret
from tests.support.stack import Person, Platform

MAF = "mon-activite-formation"


@dataclass
class Caller:
    """A person and an API client carrying their real access token."""

    person: Person
    http: httpx.Client

    def post(self, path: str, json: object = None) -> httpx.Response:
        return self.http.post(path, json=json)


def new_caller(
    platform: Platform, callers: list[Caller], first: str = "Amandine", last: str = "Munoz"
) -> Caller:
    return caller_of(platform, callers, platform.new_person(first, last))


def caller_of(platform: Platform, callers: list[Caller], person: Person) -> Caller:
    """An API client with the person's real access token (closed after the test)."""
    http = httpx.Client(
        base_url=f"{platform.portal_url}/api/v1",
        headers={"Authorization": f"Bearer {platform.token_for(person)}"},
        timeout=30,
    )
    caller = Caller(person, http)
    callers.append(caller)
    return caller


def gestionnaire_of_new_siret(platform: Platform, callers: list[Caller]) -> tuple[Caller, str]:
    caller = new_caller(platform, callers)
    siret, code = etablissement_with_code(platform.context)
    response = caller.post(f"/demarches/{MAF}/activation", json={"siret": siret, "code": code})
    assert response.status_code == 201, response.text
    return caller, siret


def another_siret_of(platform: Platform, gestionnaire: Caller) -> str:
    """The gestionnaire activates one more new SIRET with its code; that SIRET."""
    siret, code = etablissement_with_code(platform.context)
    answer = gestionnaire.post(f"/demarches/{MAF}/activation", json={"siret": siret, "code": code})
    assert answer.status_code == 201, answer.text
    return siret


def may(caller: Caller, siret: str, role: str) -> bool:
    response = caller.http.get(f"/demarches/{MAF}/droit", params={"siret": siret, "role": role})
    assert response.status_code == 200, response.text
    verdict: bool = response.json()["autorise"]
    return verdict


def invite(gestionnaire: Caller, siret: str, email: str) -> int:
    """The gestionnaire invites a tiers at `email` to act as declarant for `siret`: its id."""
    response = gestionnaire.post(
        f"/demarches/{MAF}/delegations",
        json={
            "siret_tiers": new_siret(),
            "email": email,
            "role": "declarant",
            "siret_habilitation": siret,
        },
    )
    assert response.status_code == 201, response.text
    delegation_id: int = response.json()["id"]
    return delegation_id


def invite_and_accept(
    platform: Platform, callers: list[Caller], gestionnaire: Caller, siret: str
) -> tuple[Caller, int]:
    """A tiers invited by the gestionnaire who accepts: its delegation's id."""
    tiers = new_caller(platform, callers, "Cabinet", "Tiers")
    delegation_id = invite(gestionnaire, siret, tiers.person.email)
    invitation = platform.mail.wait_for(tiers.person.email)
    token = next(u for u in invitation.links if "/invitations/" in u).rsplit("/", 1)[1]
    accepted = tiers.post(f"/invitations/{token}/acceptation")
    assert accepted.status_code == 201, accepted.text
    return tiers, delegation_id


def client_token(platform: Platform, client_id: str) -> str:
    """A token of the démarche itself, from its client credentials (as a relying party does)."""
    admin = platform.admin()
    client = admin.get_client_id(client_id)
    assert client is not None
    secret = admin.get_client_secrets(client)["value"]
    response = httpx.post(
        f"{platform.keycloak.url}/realms/{platform.keycloak.realm}/protocol/openid-connect/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@contextmanager
def demarche_http(
    platform: Platform, path: str = "", demarche: str = MAF
) -> Iterator[httpx.Client]:
    """An HTTP client of the bridge carrying the démarche's own client-credentials token."""
    with httpx.Client(
        base_url=f"{platform.portal_url}{path}",
        headers={"Authorization": f"Bearer {client_token(platform, demarche)}"},
        timeout=60,
    ) as client:
        yield client

"""The check and explain API of relying parties, with real client-credentials tokens of the
démarches' Keycloak clients: allowed and denied, cross-SIRET, another démarche's client, a
person's token, a déclarant whose delegation ended."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import pytest

from tests.support.callers import (
    MAF,
    Caller,
    another_siret_of,
    client_token,
    demarche_http,
    gestionnaire_of_new_siret,
    invite_and_accept,
)
from tests.support.sirets import new_siret
from tests.support.stack import Platform

pytestmark = pytest.mark.keycloak
OTHER_DEMARCHE = "mes-collectes-formation"


@pytest.fixture(scope="module")
def maf(platform: Platform) -> Iterator[httpx.Client]:
    with demarche_http(platform, "/api/v1/verifications") as client:
        yield client


def ask(maf: httpx.Client, *questions: tuple[str, str, str]) -> list[bool]:
    response = maf.post(
        f"/{MAF}",
        json={"questions": [{"sujet": s, "role": r, "siret": t} for s, r, t in questions]},
    )
    assert response.status_code == 200, response.text
    return [answer["autorise"] for answer in response.json()["reponses"]]


def test_a_demarche_checks_many_rights_at_once(
    platform: Platform,
    callers: list[Caller],
    maf: httpx.Client,
) -> None:
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    other_siret = new_siret()
    subject = gestionnaire.person.id
    assert ask(
        maf,
        (subject, "gestionnaire", siret),
        (subject, "declarant", siret),  # a gestionnaire may also declare
        (subject, "gestionnaire", other_siret),  # cross-SIRET
        ("inconnu", "declarant", siret),
    ) == [True, True, False, False]


def test_the_explanation_gives_the_chain_of_a_delegation_and_its_end(
    platform: Platform,
    callers: list[Caller],
    maf: httpx.Client,
) -> None:
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    tiers, delegation_id = invite_and_accept(platform, callers, gestionnaire, siret)
    params = {"sujet": tiers.person.id, "role": "declarant", "siret": siret}
    explained = maf.get(f"/{MAF}/explication", params=params).json()
    assert explained["autorise"] is True
    [link] = explained["chaine"]
    assert link["active"] is True
    assert link["habilitation"]["accordee_par"] == "delegation"
    assert link["delegation"]["id"] == delegation_id
    assert link["delegation"]["siret_delegant"] == siret
    assert link["motif"].startswith("Déléguée pour le compte du SIRET")

    assert gestionnaire.http.delete(f"/delegations/{delegation_id}").status_code == 204
    # The very next question sees the ended delegation.
    assert ask(maf, (tiers.person.id, "declarant", siret)) == [False]
    explained = maf.get(f"/{MAF}/explication", params=params).json()
    assert explained["autorise"] is False
    assert explained["chaine"][0]["active"] is False
    assert explained["chaine"][0]["motif"].startswith("Retirée le")


def test_the_sirets_a_person_may_act_for_are_paginated(
    platform: Platform,
    callers: list[Caller],
    maf: httpx.Client,
) -> None:
    gestionnaire, first = gestionnaire_of_new_siret(platform, callers)
    second = another_siret_of(platform, gestionnaire)
    path = f"/{MAF}/personnes/{gestionnaire.person.id}/sirets"
    page_one = maf.get(path, params={"par_page": 1}).json()
    page_two = maf.get(path, params={"par_page": 1, "page": 2}).json()
    assert page_one["total"] == page_two["total"] == 2
    assert [page_one["elements"][0]["siret"], page_two["elements"][0]["siret"]] == sorted(
        [first, second]
    )
    assert page_one["elements"][0]["roles"] == ["gestionnaire"]


@pytest.mark.parametrize(
    ("method", "route", "body"),
    [
        ("POST", "", {"questions": [{"sujet": "x", "role": "declarant", "siret": "1" * 14}]}),
        ("GET", "/explication?sujet=x&role=declarant&siret=" + "1" * 14, None),
        ("GET", "/personnes/x/sirets", None),
    ],
)
def test_another_demarche_cannot_ask_about_this_one(
    platform: Platform, method: str, route: str, body: object
) -> None:
    token = client_token(platform, OTHER_DEMARCHE)
    response = httpx.request(
        method,
        f"{platform.portal_url}/api/v1/verifications/{MAF}{route}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "ne peut interroger que ses propres habilitations" in response.json()["detail"]


def test_a_persons_token_is_refused(platform: Platform) -> None:
    person = platform.new_person()
    response = httpx.post(
        f"{platform.portal_url}/api/v1/verifications/{MAF}",
        json={"questions": [{"sujet": person.id, "role": "declarant", "siret": new_siret()}]},
        headers={"Authorization": f"Bearer {platform.token_for(person)}"},
    )
    assert response.status_code == 401  # its audience is the person API, not this one


def test_no_token_is_a_401_problem(platform: Platform) -> None:
    response = httpx.get(
        f"{platform.portal_url}/api/v1/verifications/{MAF}/explication",
        params={"sujet": "x", "role": "declarant", "siret": new_siret()},
    )
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"questions": []}, "questions"),
        ({"questions": [{"sujet": "x", "role": "declarant", "siret": "123"}]}, "siret"),
        (
            {"questions": [{"sujet": "x", "role": "declarant", "siret": "1" * 14}] * 501},
            "questions",
        ),
        ({"questions": [{"sujet": "x", "role": "pilote", "siret": "1" * 14}]}, "role"),
    ],
)
def test_bad_questions_are_422_problems_naming_the_field(
    maf: httpx.Client, body: dict[str, object], field: str
) -> None:
    response = maf.post(f"/{MAF}", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.text


def test_a_demarche_token_has_no_session_so_a_second_call_is_judged_without_a_thread(
    platform: Platform, maf: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check API judges a token it verified before on the event loop
    (`TokenVerifier.remembered`), which only answers for a token with no session to read:
    Keycloak's client-credentials tokens carry none (else every call would go to a thread)."""
    token = str(maf.headers["authorization"]).removeprefix("Bearer ")
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims.get("sid") is None, claims
    assert ask(maf, ("personne-inconnue", "declarant", new_siret())) == [False]  # verified once

    def not_again(*args: object, **kwargs: object) -> None:
        raise AssertionError("jeton vérifié de nouveau, dans un thread")

    monkeypatch.setattr(platform.context.verifier, "verify", not_again)
    assert ask(maf, ("personne-inconnue", "declarant", new_siret())) == [False]  # from memory

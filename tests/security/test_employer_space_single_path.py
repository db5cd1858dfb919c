"""The employer space has one way in (#17, finding 3). Through the generic habilitation API an
administrateur délégué could make any account a member of the organisation without it
appearing in the gestionnaires list, and remove a gestionnaire's right while the list still
said « actif ». Now the generic API refuses the démarche for everyone, the operator included,
and the two views cannot disagree."""

from __future__ import annotations

from typing import Any

from tests.support.callers import Caller, new_caller
from tests.support.employeur import (
    ESPACE,
    account_caller,
    new_organisation,
    operator_caller,
    person_form,
)
from tests.support.stack import Platform

EMPLOYER = "espace-employeur-cpf"


def created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_generic_api_cannot_change_an_employer_organisation(
    platform: Platform, callers: list[Caller]
) -> None:
    operator = operator_caller(platform, callers)
    siret = new_organisation(operator)
    principal = account_caller(
        platform,
        callers,
        created(
            operator.post(
                f"{ESPACE}/{siret}/administrateur-principal", json=person_form("Claire", "P")
            )
        ),
    )
    added = created(
        principal.post(
            f"{ESPACE}/{siret}/gestionnaires",
            json={**person_form("Denis", "D"), "role": "administrateur-delegue"},
        )
    )
    delegue = account_caller(platform, callers, added)
    stranger = new_caller(platform, callers, "Sans", "Lien")
    stranger.http.get("/moi/habilitations")  # known to the store

    for by in (delegue, principal, operator):
        sneaked = by.post(
            f"/demarches/{EMPLOYER}/habilitations",
            json={"personne": stranger.person.id, "role": "gestionnaire", "siret": siret},
        )
        assert sneaked.status_code == 403, sneaked.text
        assert sneaked.json()["code"] == "gere-par-l-organisation"
        assert "/api/v1/employeur/organisations" in sneaked.json()["detail"]
    assert stranger.http.get("/moi/habilitations").json() == []

    listing = principal.http.get(f"{ESPACE}/{siret}/gestionnaires").json()
    [denis] = [g for g in listing["gestionnaires"] if g["prenom"] == "Denis"]
    held = [h for h in delegue.http.get("/moi/habilitations").json() if h["siret"] == siret]
    [right] = held
    for response in (
        principal.http.delete(f"/demarches/{EMPLOYER}/habilitations/{right['id']}"),
        principal.http.patch(
            f"/demarches/{EMPLOYER}/habilitations/{right['id']}", json={"role": "gestionnaire"}
        ),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "gere-par-l-organisation"
    # Both views still agree: the right is there and the list says so.
    assert [h["id"] for h in delegue.http.get("/moi/habilitations").json()] == [right["id"]]
    again = principal.http.get(f"{ESPACE}/{siret}/gestionnaires").json()
    assert [g for g in again["gestionnaires"] if g["prenom"] == "Denis"] == [denis]

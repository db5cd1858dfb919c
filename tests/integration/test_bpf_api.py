"""The BPF API with real tokens of the real Keycloak: who may read and write, drafts, the
submission, concurrent submissions, and every kind of bad input (problem+json, nothing saved)."""

from __future__ import annotations

import threading

import httpx
import pytest

from bridge.db import now
from tests.support.bpf import complete_bpf
from tests.support.callers import (
    MAF,
    Caller,
    gestionnaire_of_new_siret,
    invite_and_accept,
    new_caller,
)
from tests.support.sirets import new_siret
from tests.support.stack import Platform

pytestmark = pytest.mark.keycloak
YEAR = now().year - 1


def path(siret: str, year: int = YEAR) -> str:
    return f"/demarches/{MAF}/bpf/{siret}/{year}"


def put(caller: Caller, siret: str, values: dict[str, object], version: int) -> httpx.Response:
    return caller.http.put(path(siret), json={"version": version, "valeurs": values})


def test_a_gestionnaire_saves_reads_and_submits_with_a_receipt(
    platform: Platform, callers: list[Caller]
) -> None:
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    assert gestionnaire.http.get(path(siret)).status_code == 404
    saved = put(gestionnaire, siret, complete_bpf(), 0)
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 1
    assert gestionnaire.http.get(path(siret)).json()["valeurs"]["c1"] == "12000.50"
    submitted = gestionnaire.post(f"{path(siret)}/depot", json={"version": 1})
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["recepisse"].startswith(f"BPF-{YEAR}-")
    again = put(gestionnaire, siret, complete_bpf(), 2)
    assert again.status_code == 409
    assert "ne peut plus être modifié" in again.json()["detail"]


def test_strangers_and_other_sirets_are_refused(platform: Platform, callers: list[Caller]) -> None:
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    _, other_siret = gestionnaire_of_new_siret(platform, callers)
    stranger = new_caller(platform, callers, "Paul", "Durand")
    assert stranger.http.get(path(siret)).status_code == 403
    assert put(stranger, siret, {"c1": "1"}, 0).status_code == 403
    assert put(gestionnaire, siret, complete_bpf(), 0).status_code == 200
    assert stranger.post(f"{path(siret)}/depot", json={"version": 1}).status_code == 403
    assert stranger.http.get(f"{path(siret)}/historique").status_code == 403
    assert put(gestionnaire, other_siret, {"c1": "1"}, 0).status_code == 403
    assert httpx.get(f"{platform.portal_url}/api/v1{path(siret)}").status_code == 401


def test_a_tiers_acts_for_its_client_until_the_delegation_is_revoked(
    platform: Platform, callers: list[Caller]
) -> None:
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    tiers, delegation_id = invite_and_accept(platform, callers, gestionnaire, siret)
    assert put(tiers, siret, {"c1": "10"}, 0).status_code == 200
    [save] = gestionnaire.http.get(f"{path(siret)}/historique").json()
    assert save["par"] == tiers.person.id
    assert save["pour_le_compte_de"] == siret
    assert gestionnaire.http.delete(f"/delegations/{delegation_id}").status_code == 204
    # The same token, still valid, is refused on the very next request.
    refused = put(tiers, siret, {"c1": "20"}, 1)
    assert refused.status_code == 403
    # An outside firm is not told to ask a gestionnaire for access (#20, item 8).
    assert f"(SIRET {siret}) vous avait donnée" in refused.json()["detail"]
    assert "a été révoquée" in refused.json()["detail"]
    assert "demandez l'accès" not in refused.json()["detail"]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"c1": "-10"}, "c1"),
        ({"c1": "10", "c2a": "5", "c2_total": "99"}, "c2_total"),
        ({"f1a_heures": "7.5"}, "f1a_heures"),
        ({"pas_un_champ": "1"}, "pas_un_champ"),
    ],
)
def test_bad_values_are_problems_naming_the_field_and_save_nothing(
    platform: Platform, callers: list[Caller], values: dict[str, object], field: str
) -> None:
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    response = put(gestionnaire, siret, values, 0)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.json()["erreurs"]
    assert gestionnaire.http.get(path(siret)).status_code == 404


def test_other_bad_requests(platform: Platform, callers: list[Caller]) -> None:
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    mismatch = gestionnaire.http.put(
        path(siret), json={"version": 0, "siret": new_siret(), "valeurs": {"c1": "1"}}
    )
    assert mismatch.status_code == 422
    assert "siret" in mismatch.json()["erreurs"]
    future = gestionnaire.http.put(
        path(siret, now().year + 1), json={"version": 0, "valeurs": {"c1": "1"}}
    )
    assert future.status_code == 422
    assert "exercice" in future.text
    huge = gestionnaire.http.put(
        path(siret), json={"version": 0, "valeurs": {"denomination": "x" * 70_000}}
    )
    assert huge.status_code == 413
    malformed = gestionnaire.http.put(
        path(siret), content=b"{pas du json", headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 422
    assert gestionnaire.http.get(path(siret)).status_code == 404


def test_two_submissions_at_once_give_one_receipt(
    platform: Platform, callers: list[Caller]
) -> None:
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    assert put(gestionnaire, siret, complete_bpf(), 0).status_code == 200
    results: list[int] = []

    def submit() -> None:
        with httpx.Client(headers=gestionnaire.http.headers, timeout=30) as client:
            url = f"{platform.portal_url}/api/v1{path(siret)}/depot"
            results.append(client.post(url, json={"version": 1}).status_code)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 409]
    history = gestionnaire.http.get(f"{path(siret)}/historique").json()
    assert [h["action"] for h in history] == ["depot", "enregistrement"]


def test_a_removed_habilitation_is_refused_on_the_very_next_request(
    platform: Platform, callers: list[Caller]
) -> None:
    gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
    colleague = new_caller(platform, callers, "Paul", "Durand")
    assert colleague.http.get("/moi/habilitations").status_code == 200  # known to the bridge
    granted = gestionnaire.post(
        f"/demarches/{MAF}/habilitations",
        json={"personne": colleague.person.id, "role": "declarant", "siret": siret},
    )
    assert granted.status_code == 201, granted.text
    assert put(colleague, siret, {"c1": "10"}, 0).status_code == 200
    removed = gestionnaire.http.delete(f"/demarches/{MAF}/habilitations/{granted.json()['id']}")
    assert removed.status_code == 204
    assert put(colleague, siret, {"c1": "20"}, 1).status_code == 403  # same token, still valid

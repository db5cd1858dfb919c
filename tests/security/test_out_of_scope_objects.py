"""Another organisation's objects are answered like missing ones (#17, finding 8).

A refusal that said « 403 … pour le SIRET 23179539457098 », or « déjà traitée », let anyone
walk the ids and map which SIRET holds which request, right or delegation. Each test reads the
answer for an id the caller has no right on and for an id that does not exist: same status,
same body, and the other organisation's SIRET never appears.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.support.callers import (
    MAF,
    Caller,
    gestionnaire_of_new_siret,
    invite_and_accept,
    new_caller,
)
from tests.support.employeur import ESPACE, new_organisation, operator_caller
from tests.support.sirets import new_siret
from tests.support.stack import Platform

MISSING = 2_000_000_000  # an id no test creates
Action = Callable[[int], httpx.Response]


def assert_like_missing(theirs: httpx.Response, missing: httpx.Response, secret_siret: str) -> None:
    assert theirs.status_code == 404, theirs.text
    assert theirs.headers["content-type"].startswith("application/problem+json")
    assert secret_siret not in theirs.text
    body, expected = theirs.json(), missing.json()
    assert (body["code"], body["detail"]) == (expected["code"], expected["detail"])


def test_someone_elses_access_request_is_answered_like_a_missing_one(
    platform: Platform, callers: list[Caller]
) -> None:
    owner, siret = gestionnaire_of_new_siret(platform, callers)
    outsider, _ = gestionnaire_of_new_siret(platform, callers)
    requester = new_caller(platform, callers)
    request_id = requester.post(f"/demarches/{MAF}/demandes", json={"siret": siret}).json()["id"]
    actions: list[Action] = [
        lambda i: outsider.post(
            f"/demarches/{MAF}/demandes/{i}/approbation", {"role": "declarant"}
        ),
        lambda i: outsider.post(f"/demarches/{MAF}/demandes/{i}/refus", {"motif": "non"}),
        lambda i: outsider.http.delete(f"/demarches/{MAF}/demandes/{i}"),  # not the requester
    ]
    for action in actions:
        assert_like_missing(action(request_id), action(MISSING), siret)
    # decided, the request is still not told apart (no « déjà traitée » to an outsider)
    assert requester.http.delete(f"/demarches/{MAF}/demandes/{request_id}").status_code == 204
    approve: Action = lambda i: outsider.post(  # noqa: E731
        f"/demarches/{MAF}/demandes/{i}/approbation", {"role": "declarant"}
    )
    assert_like_missing(approve(request_id), approve(MISSING), siret)
    assert owner.http.get(f"/demarches/{MAF}/demandes").json() == []


def test_someone_elses_habilitation_is_answered_like_a_missing_one(
    platform: Platform, callers: list[Caller]
) -> None:
    outsider, _ = gestionnaire_of_new_siret(platform, callers)
    other, siret = gestionnaire_of_new_siret(platform, callers)
    theirs = other.http.get("/moi/habilitations").json()[0]["id"]
    actions: list[Action] = [
        lambda i: outsider.http.patch(
            f"/demarches/{MAF}/habilitations/{i}", json={"role": "declarant"}
        ),
        lambda i: outsider.http.delete(f"/demarches/{MAF}/habilitations/{i}"),
    ]
    for action in actions:
        assert_like_missing(action(theirs), action(MISSING), siret)
    assert other.http.get("/moi/habilitations").json()[0]["id"] == theirs  # untouched


def test_someone_elses_delegation_is_answered_like_a_missing_one(
    platform: Platform, callers: list[Caller]
) -> None:
    outsider, _ = gestionnaire_of_new_siret(platform, callers)
    owner, siret = gestionnaire_of_new_siret(platform, callers)
    _, delegation_id = invite_and_accept(platform, callers, owner, siret)
    actions: list[Action] = [
        lambda i: outsider.http.patch(f"/delegations/{i}", json={"role": "declarant"}),
        lambda i: outsider.http.delete(f"/delegations/{i}"),
        lambda i: outsider.post(f"/delegations/{i}/relance"),
    ]
    for action in actions:
        assert_like_missing(action(delegation_id), action(MISSING), siret)


def test_an_organisation_one_holds_nothing_in_is_answered_like_a_missing_one(
    platform: Platform, callers: list[Caller]
) -> None:
    operator = operator_caller(platform, callers)
    siret = new_organisation(operator)
    stranger = new_caller(platform, callers)
    never_opened = new_siret()
    theirs = stranger.http.get(f"{ESPACE}/{siret}/gestionnaires")
    missing = stranger.http.get(f"{ESPACE}/{never_opened}/gestionnaires")
    assert theirs.status_code == missing.status_code == 404, theirs.text
    assert theirs.json()["code"] == missing.json()["code"]
    assert theirs.json()["detail"].replace(siret, never_opened) == missing.json()["detail"]

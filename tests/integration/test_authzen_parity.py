"""AuthZEN and the check API give the same answers, for every kind of right a person can hold.

A generated population on fresh SIRETs: a gestionnaire (direct, two SIRETs), a tiers acting
through a delegation, a tiers whose delegation was revoked, a tiers whose delegation reached
its end date, a déclarant whose habilitation was removed, a person holding a right in
another démarche only, and an unknown subject. Every (person, role, SIRET) question is asked
of the check API (one batch), of AuthZEN's batch and of AuthZEN's single evaluation; then
the searches are held against those answers.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from itertools import product
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from bridge.db import now
from bridge.delegation.models import Delegation
from bridge.habilitation.models import Habilitation
from tests.support.callers import (
    MAF,
    Caller,
    another_siret_of,
    demarche_http,
    gestionnaire_of_new_siret,
    invite_and_accept,
    new_caller,
)
from tests.support.seed import OPERATOR
from tests.support.sirets import new_siret
from tests.support.stack import Platform

pytestmark = pytest.mark.keycloak
ROLES = ("gestionnaire", "declarant")


@pytest.fixture(scope="module")
def demarche(platform: Platform) -> Iterator[httpx.Client]:
    with demarche_http(platform) as client:
        yield client


def accepted_with_end(
    platform: Platform, callers: list[Caller], gestionnaire: Caller, siret: str, *, passed: bool
) -> Caller:
    """A tiers invited until tomorrow, who accepts; then (when `passed`) its end date passes."""
    tiers = new_caller(platform, callers, "Fin", "Échue")
    invited = gestionnaire.post(
        f"/demarches/{MAF}/delegations",
        json={
            "siret_tiers": new_siret(),
            "email": tiers.person.email,
            "role": "declarant",
            "siret_habilitation": siret,
            "fin": (date.today() + timedelta(days=1)).isoformat(),
        },
    )
    assert invited.status_code == 201, invited.text
    mail = platform.mail.wait_for(tiers.person.email)
    token = next(u for u in mail.links if "/invitations/" in u).rsplit("/", 1)[1]
    assert tiers.post(f"/invitations/{token}/acceptation").status_code == 201
    if not passed:
        return tiers
    past = now() - timedelta(hours=1)  # time passes: the end date is behind us
    with platform.context.work() as work:
        work.session.execute(
            update(Habilitation)
            .where(Habilitation.subject == tiers.person.id)
            .values(valid_until=past)
        )
        work.session.execute(
            update(Delegation).where(Delegation.id == invited.json()["id"]).values(valid_until=past)
        )
    return tiers


def population(platform: Platform, callers: list[Caller]) -> tuple[list[str], list[str]]:
    """The people (their `sub`) and the SIRETs of the generated population."""
    gestionnaire, first = gestionnaire_of_new_siret(platform, callers)
    second = another_siret_of(platform, gestionnaire)
    delegated, _ = invite_and_accept(platform, callers, gestionnaire, first)
    ended, ended_id = invite_and_accept(platform, callers, gestionnaire, first)
    assert gestionnaire.http.delete(f"/delegations/{ended_id}").status_code == 204
    expired = accepted_with_end(platform, callers, gestionnaire, second, passed=True)
    until_tomorrow = accepted_with_end(platform, callers, gestionnaire, second, passed=False)
    removed = new_caller(platform, callers, "Retiré", "Déclarant")
    assert removed.http.get("/moi/habilitations").status_code == 200  # known to the bridge
    granted = gestionnaire.post(
        f"/demarches/{MAF}/habilitations",
        json={"personne": removed.person.id, "role": "declarant", "siret": second},
    )
    assert granted.status_code == 201, granted.text
    assert (
        gestionnaire.http.delete(
            f"/demarches/{MAF}/habilitations/{granted.json()['id']}"
        ).status_code
        == 204
    )
    elsewhere = new_caller(platform, callers, "Autre", "Démarche")
    with platform.context.work() as work:
        other_code = work.etablissements.issue_code(OPERATOR, first, "mes-collectes-formation")
    assert (
        elsewhere.post(
            "/demarches/mes-collectes-formation/activation",
            json={"siret": first, "code": other_code},
        ).status_code
        == 201
    )
    people = [
        c.person.id
        for c in (gestionnaire, delegated, ended, expired, removed, elsewhere, until_tomorrow)
    ] + ["sujet-inconnu"]
    sirets = [first, second, new_siret()]
    return people, sirets


def test_authzen_answers_equal_the_check_apis(
    platform: Platform, callers: list[Caller], demarche: httpx.Client
) -> None:
    people, sirets = population(platform, callers)
    questions = list(product(people, ROLES, sirets))
    random.Random(20261206).shuffle(questions)  # noqa: S311 (an order, not a secret)

    checked = demarche.post(
        f"/api/v1/verifications/{MAF}",
        json={"questions": [{"sujet": p, "role": r, "siret": s} for p, r, s in questions]},
    )
    assert checked.status_code == 200, checked.text
    expected = [answer["autorise"] for answer in checked.json()["reponses"]]
    answers = dict(zip(questions, expected, strict=True))
    gestionnaire, delegated, ended, expired, removed, elsewhere, until_tomorrow, unknown = people
    first, second, foreign = sirets
    # Each kind of right answers as it should: the parity below is not between two errors.
    assert answers[gestionnaire, "gestionnaire", first]
    assert answers[gestionnaire, "declarant", second]  # a gestionnaire may also declare
    assert answers[delegated, "declarant", first]
    assert not answers[delegated, "gestionnaire", first]
    assert answers[until_tomorrow, "declarant", second]  # an end date still ahead
    for person, siret in ((ended, first), (expired, second), (removed, second)):
        assert not answers[person, "declarant", siret]
    assert not any(answers[p, r, s] for p in (elsewhere, unknown) for r in ROLES for s in sirets)
    assert not any(answers[p, r, foreign] for p in people for r in ROLES)

    def evaluation(person: str, role: str, siret: str) -> dict[str, Any]:
        return {
            "subject": {"type": "user", "id": person},
            "action": {"name": role},
            "resource": {"type": "siret", "id": siret},
        }

    # AuthZEN also knows `agir` (any role); some questions are asked twice in the batch.
    asked = questions + list(product(people, ["agir"], sirets))
    asked += asked[:: len(asked) // 10 or 1]
    batch = demarche.post(
        "/access/v1/evaluations", json={"evaluations": [evaluation(*q) for q in asked]}
    )
    assert batch.status_code == 200, batch.text
    batched = [e["decision"] for e in batch.json()["evaluations"]]
    assert batched[: len(questions)] == expected  # the check API's answers

    singles = []  # one call each: `may_act`'s path, not the batch's query
    for question in asked:
        one = demarche.post("/access/v1/evaluation", json=evaluation(*question))
        assert one.status_code == 200, one.text
        singles.append(one.json()["decision"])
    assert singles == batched
    agir = {q: a for q, a in zip(asked, batched, strict=True) if q[1] == "agir"}
    for person, _, siret in agir:
        assert agir[person, "agir", siret] == any(answers[person, r, siret] for r in ROLES)

    allowed = {q for q, answer in zip(questions, expected, strict=True) if answer}
    for person, role in product(people, ROLES):
        found = demarche.post(
            "/access/v1/search/resource",
            json={
                "subject": {"type": "user", "id": person},
                "action": {"name": role},
                "resource": {"type": "siret"},
            },
        ).json()
        assert {r["id"] for r in found["results"]} == {
            s for s in sirets if (person, role, s) in allowed
        }, (person, role)
    for siret, role in product(sirets, ROLES):
        found = demarche.post(
            "/access/v1/search/subject",
            json={
                "subject": {"type": "user"},
                "action": {"name": role},
                "resource": {"type": "siret", "id": siret},
            },
        ).json()
        assert {r["id"] for r in found["results"]} == {
            p for p in people if (p, role, siret) in allowed
        }, (siret, role)
    for person, siret in product(people, sirets):
        found = demarche.post(
            "/access/v1/search/action",
            json={
                "subject": {"type": "user", "id": person},
                "resource": {"type": "siret", "id": siret},
            },
        ).json()
        roles = [r for r in ROLES if (person, r, siret) in allowed]
        assert [r["name"] for r in found["results"]] == roles + (["agir"] if roles else [])

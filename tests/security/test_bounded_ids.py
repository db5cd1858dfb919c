"""Integers from outside never reach the store unbounded (#17, finding 6): an id or a version
above what the store holds is a 422 problem, not a 500 from the database driver."""

from __future__ import annotations

import pytest

from tests.support.callers import MAF, Caller, gestionnaire_of_new_siret
from tests.support.employeur import new_organisation, operator_caller
from tests.support.stack import Platform

TOO_BIG = "99999999999999999999999"  # > 2^63 - 1

ROUTES = [
    ("POST", f"/demarches/{MAF}/demandes/{TOO_BIG}/approbation", {"role": "declarant"}),
    ("POST", f"/demarches/{MAF}/demandes/{TOO_BIG}/refus", {"motif": "non"}),
    ("DELETE", f"/demarches/{MAF}/demandes/{TOO_BIG}", None),
    ("PATCH", f"/demarches/{MAF}/habilitations/{TOO_BIG}", {"role": "declarant"}),
    ("DELETE", f"/demarches/{MAF}/habilitations/{TOO_BIG}", None),
    ("POST", f"/delegations/{TOO_BIG}/relance", None),
    ("PATCH", f"/delegations/{TOO_BIG}", {"role": "declarant"}),
    ("DELETE", f"/delegations/{TOO_BIG}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_an_id_beyond_the_store_is_a_422_problem_not_a_server_error(
    platform: Platform, callers: list[Caller], method: str, path: str, body: object
) -> None:
    gestionnaire, _ = gestionnaire_of_new_siret(platform, callers)
    response = gestionnaire.http.request(method, path, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_unit_filter_beyond_the_store_is_a_422_problem(
    platform: Platform, callers: list[Caller]
) -> None:
    operator = operator_caller(platform, callers)
    siret = new_organisation(operator)
    response = operator.http.get(
        f"/employeur/organisations/{siret}/gestionnaires", params={"unite": TOO_BIG}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")

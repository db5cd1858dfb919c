"""The check API's answers are counted by route and status class (#19), whatever answers:
the route, the routing (404), or Starlette's last-resort 500 after an exception."""

from __future__ import annotations

import re

from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient

from bridge.api import check_metrics
from bridge.api.check_metrics import CheckApiCounter


def counts() -> dict[tuple[str, str], int]:
    found = re.findall(r'route="(\w+)",status="(\w+)"\} (\d+)', check_metrics.render())
    return {(route, status): int(value) for route, status, value in found}


def counting_app() -> TestClient:
    app = FastAPI()

    @app.post("/api/v1/verifications/{demarche}")
    def check(demarche: str) -> dict[str, str]:
        return {"demarche": demarche}

    @app.get("/api/v1/verifications/{demarche}/explication")
    def explain(demarche: str) -> None:
        raise HTTPException(403)

    @app.get("/api/v1/verifications/{demarche}/personnes/{subject}/sirets")
    def sirets(demarche: str, subject: str) -> None:
        raise RuntimeError("la base ne répond plus")

    @app.get("/api/v1/habilitations")
    def elsewhere() -> None:
        raise RuntimeError("pas l'API de vérification")

    app.add_middleware(CheckApiCounter)
    return TestClient(app, raise_server_exceptions=False)


def test_each_answer_is_counted_once_under_its_route_and_class() -> None:
    client = counting_app()
    before = counts()
    assert client.post("/api/v1/verifications/maf").status_code == 200
    assert client.post("/api/v1/verifications/maf").status_code == 200
    assert client.get("/api/v1/verifications/maf/explication").status_code == 403
    assert client.get("/api/v1/verifications/maf/personnes/x/sirets").status_code == 500
    assert client.get("/api/v1/verifications/maf/ailleurs").status_code == 404
    assert client.get("/api/v1/habilitations").status_code == 500  # not the check API
    after = counts()
    changed = {key: after[key] - before[key] for key in after if after[key] != before[key]}
    assert changed == {
        ("verifier", "2xx"): 2,
        ("expliquer", "4xx"): 1,
        ("sirets", "5xx"): 1,
        ("autre", "4xx"): 1,
    }


def test_every_series_is_served_from_the_start_and_no_value_of_the_path_becomes_a_label() -> None:
    client = counting_app()
    client.post("/api/v1/verifications/une-demarche-inventee-1234")
    served = counts()
    assert len(served) == len(check_metrics.ROUTES) * len(check_metrics.CLASSES)
    assert "une-demarche-inventee" not in check_metrics.render()

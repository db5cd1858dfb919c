"""The check API's answers are counted by route and status class (#19), whatever answers:
the route, the routing (404), or Starlette's last-resort 500 after an exception."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from bridge.api import check_metrics
from bridge.api.check_metrics import CheckApiCounter
from bridge.settings import REPO_ROOT


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


def test_a_request_cancelled_because_its_client_left_is_not_a_server_error() -> None:
    """Cancellation (the client went away) is no answer at all: not counted as a 5xx."""

    async def cancelled(scope: Scope, receive: Receive, send: Send) -> None:
        raise asyncio.CancelledError

    async def nothing() -> Message:
        return {"type": "http.disconnect"}

    async def ignore(message: Message) -> None:
        return None

    scope: Scope = {"type": "http", "path": "/api/v1/verifications/maf", "method": "POST"}
    before = counts()
    # A loop of its own, in a thread of its own: the browser tests may leave one running in
    # this thread.
    with ThreadPoolExecutor(1) as pool, pytest.raises(asyncio.CancelledError):
        pool.submit(asyncio.run, CheckApiCounter(cancelled)(scope, nothing, ignore)).result()
    assert counts() == before


def test_the_bridge_runs_one_worker_per_process_since_its_counters_are_per_process() -> None:
    """The check API's counters live in the process: with several uvicorn workers behind one
    port, scrapes would read a different worker each time and rate() would be wrong."""
    dockerfile = (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")
    [cmd] = [line for line in dockerfile.splitlines() if line.startswith("CMD ")]
    assert "uvicorn" in cmd
    assert "--workers" not in cmd
    assert not re.search(r"^(ENV|ARG)\b.*WEB_CONCURRENCY", dockerfile, flags=re.MULTILINE)
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    bridges = [s for s in compose["services"].values() if "bridge.api.app" in str(s.get("command"))]
    assert bridges
    for service in bridges:
        assert "--workers" not in service["command"]
        assert "WEB_CONCURRENCY" not in service.get("environment", {})

"""The live bridge answers what its OpenAPI document says (#17, finding 11).

schemathesis (its command line, as an outside client would run it) reads `/openapi.json` from
the running bridge and sends generated requests: without a token, with a gestionnaire's, with
a tiers', and with a démarche's client-credentials token on the check API and the AuthZEN
endpoints. Each run is bounded (examples per operation and a time budget) and prints the
cases sent, the server errors and the conformance failures; all must be zero failures.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.callers import Caller, gestionnaire_of_new_siret, invite_and_accept
from tests.support.stack import Platform

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    )
)
EXAMPLES_PER_OPERATION = 6
SECONDS_PER_RUN = 45


def run_schemathesis(
    platform: Platform,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    label: str,
    token: str | None,
    *extra: str,
) -> dict[str, int]:
    report = tmp_path / f"{label}.ndjson"
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{platform.portal_url}/openapi.json",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--max-time",
        str(SECONDS_PER_RUN),
        "--seed",
        "20261206",
        "--workers",
        "1",
        "--no-shrink",
        "--exclude-path-regex",
        "^/(health|metrics)",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        *extra,
    ]
    if token is not None:
        command += ["--header", f"Authorization: Bearer {token}"]
    started = time.monotonic()
    done = subprocess.run(  # in tmp_path: schemathesis keeps a cache in its working folder
        command, capture_output=True, text=True, timeout=SECONDS_PER_RUN + 120, cwd=tmp_path
    )
    figures = _figures(report)
    with capsys.disabled():  # the figures reach the CI log, test passed or not
        print(
            f"\nschemathesis ({label}) : {figures['cas']} cas envoyés en "
            f"{time.monotonic() - started:.0f} s, {figures['erreurs_serveur']} erreur(s) serveur, "
            f"{figures['non_conformes']} non-conformité(s)"
        )
    if done.returncode != 0:
        print(done.stdout[-6000:], done.stderr[-2000:])
    assert done.returncode == 0, f"schemathesis ({label}) a trouvé des écarts"
    assert figures["cas"] > 0
    assert figures["erreurs_serveur"] == figures["non_conformes"] == 0
    return figures


def _figures(report: Path) -> dict[str, int]:
    """Cases sent, server errors and other failed checks, read from the NDJSON events."""
    cases = server_errors = failures = 0
    for line in report.read_text().splitlines() if report.exists() else []:
        event = json.loads(line)
        for name, body in event.items():
            if name != "ScenarioFinished" or not isinstance(body, dict):
                continue
            recorder = body.get("recorder", {})
            cases += len(recorder.get("interactions", {}))
            for checks in recorder.get("checks", {}).values():
                for check in checks:
                    if str(check.get("status", "")).lower() != "failure":
                        continue
                    if check.get("name") == "not_a_server_error":
                        server_errors += 1
                    else:
                        failures += 1
    return {"cas": cases, "erreurs_serveur": server_errors, "non_conformes": failures}


def demarche_token(platform: Platform) -> str:
    settings = platform.relying_party_settings
    response = httpx.post(
        f"{platform.keycloak.url}/realms/{platform.keycloak.realm}/protocol/openid-connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": settings.client_id,
            "client_secret": settings.client_secret.get_secret_value(),
        },
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.mark.parametrize("who", ["sans-jeton", "gestionnaire", "tiers"])
def test_the_api_conforms_to_its_document_for_each_kind_of_caller(
    platform: Platform,
    callers: list[Caller],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    who: str,
) -> None:
    token = None
    if who != "sans-jeton":
        gestionnaire, siret = gestionnaire_of_new_siret(platform, callers)
        caller = gestionnaire
        if who == "tiers":
            caller, _ = invite_and_accept(platform, callers, gestionnaire, siret)
        token = str(caller.http.headers["Authorization"]).removeprefix("Bearer ")
    run_schemathesis(platform, capsys, tmp_path, who, token)


def test_the_check_api_conforms_to_its_document_for_a_demarche(
    platform: Platform, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run_schemathesis(
        platform,
        capsys,
        tmp_path,
        "demarche",
        demarche_token(platform),
        "--include-path-regex",
        r"^/(api/v1/verifications|access/v1/|\.well-known/)",
    )

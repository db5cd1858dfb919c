"""What the alerts (observabilite/alertes.yml) and the Grafana dashboard read does exist
(#19): the bridge's series in a real /metrics answer of the running portal, Keycloak's in
the real Keycloak's management /metrics after a failed login and a brute-force lockout. A
rule or panel naming a metric, or a label value, that nobody serves would never fire."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest

from bridge.settings import REPO_ROOT
from tests.support.callers import MAF, demarche_http
from tests.support.metrics import unserved
from tests.support.sirets import new_siret
from tests.support.stack import TEST_API_CLIENT, Platform

pytestmark = pytest.mark.keycloak

RULES = REPO_ROOT / "observabilite" / "alertes.yml"
DASHBOARD = REPO_ROOT / "observabilite" / "grafana-tableau-de-bord.json"


def rule_expressions() -> list[str]:
    return re.findall(r"^\s*expr:\s*(.+)$", RULES.read_text(encoding="utf-8"), re.MULTILINE)


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def bridge_metrics(platform: Platform) -> str:
    token = platform.portal_settings.metrics_token.get_secret_value()
    answer = httpx.get(
        f"{platform.portal_url}/metrics", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text
    return answer.text


def check_api_count(platform: Platform, route: str, status: str) -> int:
    line = f'bridge_check_api_requests_total{{route="{route}",status="{status}"}} '
    body = bridge_metrics(platform)
    return int(next(row for row in body.splitlines() if row.startswith(line)).split()[-1])


@pytest.fixture(scope="module")
def keycloak_metrics(platform: Platform) -> str:
    """Keycloak's /metrics once a person has typed wrong passwords until locked out."""
    if not platform.keycloak.management_url:
        pytest.skip("l'interface de gestion de ce Keycloak n'est pas connue des tests")
    person = platform.new_person()
    token_url = (
        f"{platform.keycloak.url}/realms/{platform.keycloak.realm}/protocol/openid-connect/token"
    )
    for _ in range(6):  # the realm locks after a few failures (bruteForceProtected)
        refused = httpx.post(
            token_url,
            data={
                "grant_type": "password",
                "client_id": TEST_API_CLIENT,
                "client_secret": platform.test_api_secret,
                "username": person.username,
                "password": "pas-le-bon-mot-de-passe",
            },
            timeout=10,
        )
        assert refused.status_code == 401 or refused.status_code == 400, refused.text
    deadline = time.monotonic() + 15
    while True:
        body = httpx.get(f"{platform.keycloak.management_url}/metrics", timeout=10).text
        if "lockout" in body or time.monotonic() > deadline:
            return body
        time.sleep(0.5)


def test_the_keycloak_series_of_the_alerts_and_dashboard_are_served(keycloak_metrics: str) -> None:
    assert unserved(rule_expressions(), keycloak_metrics, "keycloak_") == []
    assert unserved(dashboard_expressions(), keycloak_metrics, "keycloak_") == []
    watched = {name for name in re.findall(r"\b(keycloak_\w+)", " ".join(rule_expressions()))}
    assert watched, "aucune mesure de Keycloak dans les règles"


def test_the_bridge_series_of_the_alerts_and_dashboard_are_served(platform: Platform) -> None:
    served = bridge_metrics(platform)
    assert unserved(rule_expressions(), served, "bridge_") == []
    assert unserved(dashboard_expressions(), served, "bridge_") == []


def test_the_check_api_counts_the_calls_of_a_demarche(platform: Platform) -> None:
    question = {"questions": [{"sujet": "personne", "role": "declarant", "siret": new_siret()}]}
    before = (
        check_api_count(platform, "verifier", "2xx"),
        check_api_count(platform, "verifier", "4xx"),
    )
    with demarche_http(platform) as demarche:
        path = f"/api/v1/verifications/{MAF}"
        assert demarche.post(path, json=question).status_code == 200
        assert demarche.post(path, json={"questions": []}).status_code == 422
    after = (
        check_api_count(platform, "verifier", "2xx"),
        check_api_count(platform, "verifier", "4xx"),
    )
    assert (after[0] - before[0], after[1] - before[1]) == (
        1,
        1,
    )  # the session runs one test at a time

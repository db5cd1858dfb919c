"""The always-on bridge holds only the admin roles its duties need (#17, finding 1).

With `manage-clients`, the bridge's credentials read every démarche's client secret (and could
rewrite redirect URIs): a leaked bridge secret impersonated any démarche. `view-clients`
reads the secrets too, so the bridge holds neither. Creating the catalog's clients, roles
and groups is a deploy step with an administrator's account (`python -m bridge keycloak
catalogue`); the service account reads only the groups it projects onto.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bridge.keycloak_admin import KeycloakDirectory
from tests.support.stack import Platform

DEMARCHE_CLIENTS = ["mon-activite-formation", "portail", "espace-employeur-cpf", "bridge"]


@pytest.fixture(scope="module")
def bridge_admin_api(platform: Platform) -> Iterator[httpx.Client]:
    """The admin REST API with the bridge's own service-account token."""
    settings = platform.portal_settings
    realm = platform.keycloak.realm
    token = httpx.post(
        f"{platform.keycloak.url}/realms/{realm}/protocol/openid-connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": settings.sync_client_id,
            "client_secret": settings.sync_client_secret.get_secret_value(),
        },
    ).json()["access_token"]
    with httpx.Client(
        base_url=f"{platform.keycloak.url}/admin/realms/{realm}",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        yield client


def client_of(platform: Platform, client_id: str) -> dict[str, Any]:
    admin = platform.admin()
    internal_id = admin.get_client_id(client_id)
    assert internal_id, client_id
    found: dict[str, Any] = admin.get_client(internal_id)
    return found


@pytest.mark.parametrize("client_id", DEMARCHE_CLIENTS)
def test_the_bridge_cannot_read_a_client_secret(
    platform: Platform, bridge_admin_api: httpx.Client, client_id: str
) -> None:
    client = client_of(platform, client_id)
    response = bridge_admin_api.get(f"/clients/{client['id']}/client-secret")
    assert response.status_code == 403, response.text
    assert bridge_admin_api.get(f"/clients/{client['id']}").status_code == 403
    assert bridge_admin_api.get("/clients", params={"clientId": client_id}).status_code == 403


@pytest.mark.parametrize("client_id", ["mon-activite-formation", "portail"])
def test_the_bridge_cannot_change_a_client(
    platform: Platform, bridge_admin_api: httpx.Client, client_id: str
) -> None:
    client = client_of(platform, client_id)
    stolen = {**client, "redirectUris": ["https://attaquant.example/*"]}
    response = bridge_admin_api.put(f"/clients/{client['id']}", json=stolen)
    assert response.status_code == 403, response.text
    assert client_of(platform, client_id)["redirectUris"] == client["redirectUris"]
    created = bridge_admin_api.post("/clients", json={"clientId": "faux-client-du-pont"})
    assert created.status_code == 403, created.text


def test_the_bridge_still_reads_the_catalog_it_projects_onto(platform: Platform) -> None:
    settings = platform.portal_settings
    directory = KeycloakDirectory.with_service_account(
        platform.keycloak.url,
        platform.keycloak.realm,
        settings.sync_client_id,
        settings.sync_client_secret.get_secret_value(),
    )
    groups = directory.role_groups()
    assert ("mon-activite-formation", "gestionnaire") in groups
    assert directory.service_account_user_id(settings.sync_client_id)

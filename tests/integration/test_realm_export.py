"""What keycloak/realm-export/ promises, read back from the running Keycloak's admin API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from keycloak import KeycloakAdmin
from keycloak.exceptions import KeycloakError

from bridge.keycloak_admin import KeycloakDirectory
from tests.support.stack import Person, Platform

pytestmark = pytest.mark.keycloak

DEMARCHE_ROLES = {
    "mon-activite-formation": {"gestionnaire", "declarant"},
    "mes-collectes-formation": {"gestionnaire", "declarant"},
    "mon-suivi-controle": {"gestionnaire", "declarant"},
    "espace-employeur-cpf": {"administrateur-principal", "administrateur-delegue", "gestionnaire"},
}
BRIDGE_ADMIN_ROLES = {
    "manage-users",
    "view-users",
    "query-users",
    "query-groups",
    "view-events",
}


@pytest.fixture(scope="module")
def admin(platform: Platform) -> KeycloakAdmin:
    return platform.admin()


@pytest.fixture(scope="module")
def realm(admin: KeycloakAdmin, platform: Platform) -> dict[str, Any]:
    representation: dict[str, Any] = admin.get_realm(platform.keycloak.realm)
    return representation


def _client(admin: KeycloakAdmin, client_id: str) -> dict[str, Any]:
    internal_id = admin.get_client_id(client_id)
    assert internal_id, f"client {client_id} absent"
    client: dict[str, Any] = admin.get_client(internal_id)
    return client


@pytest.mark.parametrize(("client_id", "roles"), sorted(DEMARCHE_ROLES.items()))
def test_each_demarche_is_a_confidential_client_with_its_roles(
    admin: KeycloakAdmin, client_id: str, roles: set[str]
) -> None:
    client = _client(admin, client_id)
    assert client["protocol"] == "openid-connect"
    assert client["publicClient"] is False
    assert client["directAccessGrantsEnabled"] is False
    assert client["implicitFlowEnabled"] is False
    assert client["attributes"]["pkce.code.challenge.method"] == "S256"
    assert {r["name"] for r in admin.get_client_roles(client["id"])} == roles


def test_portal_client_uses_code_flow_with_pkce_and_back_channel_logout(
    admin: KeycloakAdmin, platform: Platform
) -> None:
    portal = _client(admin, "portail")
    assert portal["standardFlowEnabled"] is True
    assert portal["implicitFlowEnabled"] is False
    assert portal["attributes"]["pkce.code.challenge.method"] == "S256"
    assert portal["redirectUris"] == [f"{platform.portal_url}/auth/callback"]
    assert portal["attributes"]["backchannel.logout.url"] == (
        f"{platform.portal_url}/auth/backchannel-logout"
    )


def test_operateur_is_a_realm_role(admin: KeycloakAdmin) -> None:
    assert "operateur" in {r["name"] for r in admin.get_realm_roles()}


def test_bridge_service_account_holds_only_the_admin_roles_it_needs(
    admin: KeycloakAdmin,
) -> None:
    bridge = _client(admin, "bridge")
    assert bridge["serviceAccountsEnabled"] is True
    assert bridge["standardFlowEnabled"] is False
    account = admin.get_client_service_account_user(bridge["id"])
    realm_management = admin.get_client_id("realm-management")
    assert realm_management is not None
    held = {r["name"] for r in admin.get_client_roles_of_user(account["id"], realm_management)}
    assert held == BRIDGE_ADMIN_ROLES


def test_bridge_service_account_can_manage_users_but_not_the_realm(
    platform: Platform, person: Person
) -> None:
    secret = "dev-bridge-secret-a-changer"
    directory = KeycloakDirectory.with_service_account(
        platform.keycloak.url, platform.keycloak.realm, "bridge", secret
    )
    assert directory.sessions(person.id) == []
    token = httpx.post(
        f"{platform.keycloak.url}/realms/{platform.keycloak.realm}/protocol/openid-connect/token",
        data={"grant_type": "client_credentials", "client_id": "bridge", "client_secret": secret},
    ).json()["access_token"]
    realm_settings = httpx.put(
        f"{platform.keycloak.url}/admin/realms/{platform.keycloak.realm}",
        json={"registrationAllowed": False},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert realm_settings.status_code == 403


def test_realm_speaks_french_by_default(realm: dict[str, Any]) -> None:
    assert realm["internationalizationEnabled"] is True
    assert realm["defaultLocale"] == "fr"
    assert realm["supportedLocales"] == ["fr"]


def test_realm_sends_mail_to_the_test_catcher(realm: dict[str, Any], platform: Platform) -> None:
    smtp = realm["smtpServer"]
    assert smtp["host"] == "127.0.0.1"
    assert smtp["port"] == str(platform.smtp_port)
    assert smtp["from"]


def test_brute_force_detection_is_on(realm: dict[str, Any]) -> None:
    assert realm["bruteForceProtected"] is True
    assert realm["failureFactor"] == 5
    assert realm["permanentLockout"] is False
    assert realm["maxFailureWaitSeconds"] == 900


def test_password_policy_asks_for_a_long_varied_password(realm: dict[str, Any]) -> None:
    policy = realm["passwordPolicy"]
    for rule in (
        "length(12)",
        "upperCase(1)",
        "lowerCase(1)",
        "digits(1)",
        "specialChars(1)",
        "notUsername",
        "notEmail",
        "passwordHistory(5)",
    ):
        assert rule in policy


def test_password_policy_is_enforced(admin: KeycloakAdmin, person: Person) -> None:
    with pytest.raises(KeycloakError) as refused:
        admin.set_user_password(person.id, "court", temporary=False)
    assert refused.value.response_code == 400


def test_admin_events_are_recorded_for_the_console_round_trip(realm: dict[str, Any]) -> None:
    assert realm["adminEventsEnabled"] is True
    assert realm["adminEventsDetailsEnabled"] is True

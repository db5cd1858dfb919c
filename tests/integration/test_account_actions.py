"""« Mes données personnelles » hands each change to Keycloak (application-initiated action)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.support.stack import Platform

pytestmark = pytest.mark.keycloak


@pytest.mark.parametrize(
    ("action", "kc_action"),
    [
        ("adresse-electronique", "UPDATE_EMAIL"),
        ("coordonnees", "UPDATE_PROFILE"),
        ("mot-de-passe", "UPDATE_PASSWORD"),
    ],
)
def test_each_change_goes_to_keycloak_with_its_action(
    platform: Platform, action: str, kc_action: str
) -> None:
    response = httpx.get(f"{platform.portal_url}/auth/action/{action}?suite=/mes-donnees")
    assert response.status_code == 302
    target = urlsplit(response.headers["location"])
    assert target.path.endswith("/protocol/openid-connect/auth")
    assert parse_qs(target.query)["kc_action"] == [kc_action]


def test_an_unknown_change_is_not_found(platform: Platform) -> None:
    response = httpx.get(f"{platform.portal_url}/auth/action/supprimer-le-realm")
    assert response.status_code == 404


def test_personal_data_asks_for_a_login_first(platform: Platform) -> None:
    response = httpx.get(f"{platform.portal_url}/mes-donnees")
    assert response.status_code in (302, 303)
    assert "/auth/login" in response.headers["location"]

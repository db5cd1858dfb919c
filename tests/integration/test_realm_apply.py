"""`python -m bridge keycloak appliquer` on a live realm edited by hand in Keycloak.

Each test gets a realm of its own on the session's Keycloak, created from the export as
`--import-realm` would, so that the session's realm is never disturbed.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from keycloak import KeycloakAdmin

from bridge.cli import main
from bridge.realm.apply import RECORD_ATTRIBUTE
from bridge.realm.export import REALM_EXPORT_DIR, realm_file, render
from tests.support.stack import (
    PASSWORD,
    PROFESSIONAL_DETAILS,
    TEST_API_CLIENT,
    Platform,
    add_test_api_client,
    create_complete_account,
)

pytestmark = pytest.mark.keycloak

REALM_ENV = {"REALM_PORTAL_URL": "https://portail.exemple.fr", "REALM_SMTP_PORT": "2525"}
EXPORT_POLICY = (
    "length(12) and maxLength(128) and upperCase(1) and lowerCase(1) and digits(1) and "
    "specialChars(1) and notUsername(undefined) and notEmail(undefined) and passwordHistory(5)"
)
EXPORT_REDIRECTS = ["https://portail.exemple.fr/auth/callback"]


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


@dataclass(frozen=True)
class AppliedRealm:
    name: str
    admin: KeycloakAdmin

    def settings(self) -> dict[str, Any]:
        representation: dict[str, Any] = self.admin.get_realm(self.name)
        return representation

    def portal(self) -> dict[str, Any]:
        uuid = self.admin.get_client_id("portail")
        assert uuid, "client portail absent"
        client: dict[str, Any] = self.admin.get_client(uuid)
        return client


@pytest.fixture
def realm(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppliedRealm]:
    """A realm imported from the export (never applied yet), and the deploy step's settings."""
    name = f"demarches-appliquer-{secrets.token_hex(3)}"
    master = platform.keycloak.admin(realm="master")
    master.create_realm(render(REALM_ENV, realm_file(REALM_EXPORT_DIR), name=name))
    for key, value in REALM_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("BRIDGE_KEYCLOAK_URL", platform.keycloak.url)
    monkeypatch.setenv("BRIDGE_KEYCLOAK_REALM", name)
    monkeypatch.setenv("BRIDGE_KEYCLOAK_ADMIN_USER", platform.keycloak.admin_user)
    monkeypatch.setenv("BRIDGE_KEYCLOAK_ADMIN_PASSWORD", platform.keycloak.admin_password)
    try:
        yield AppliedRealm(name, platform.keycloak.admin(realm=name))
    finally:
        master.delete_realm(name)


def apply(capsys: pytest.CaptureFixture[str], *options: str) -> Run:
    """`python -m bridge keycloak appliquer …` in-process: its code and what it printed."""
    capsys.readouterr()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        code = main(["keycloak", "appliquer", *options])
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def edit_by_hand(realm: AppliedRealm) -> None:
    """What an administrator does in the console: a weaker password policy, another
    redirect URI for the portal."""
    realm.admin.update_realm(realm.name, {"passwordPolicy": "length(8)"})
    portal = realm.portal()
    portal["redirectUris"] = ["https://ailleurs.exemple.fr/*"]
    realm.admin.update_client(portal["id"], portal)


def logs_in(platform: Platform, realm: AppliedRealm, username: str, secret: str) -> bool:
    response = httpx.post(
        f"{platform.keycloak.url}/realms/{realm.name}/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": TEST_API_CLIENT,
            "client_secret": secret,
            "username": username,
            "password": PASSWORD,
            "scope": "openid",
        },
        timeout=10,
    )
    return response.status_code == 200


def test_an_imported_realm_is_adopted_at_the_first_apply_then_nothing_is_left_to_do(
    realm: AppliedRealm, capsys: pytest.CaptureFixture[str]
) -> None:
    first = apply(capsys)
    assert first.code == 0, first.err
    assert "Rien à faire" in first.out
    assert "Empreintes de la configuration appliquée enregistrées." in first.out
    assert RECORD_ATTRIBUTE in realm.settings()["attributes"]

    again = apply(capsys)
    assert again.code == 0, again.err
    assert "Rien à faire" in again.out
    assert "Empreintes" not in again.out


def test_hand_edits_are_shown_refused_then_overwritten_only_when_forced(
    platform: Platform, realm: AppliedRealm, capsys: pytest.CaptureFixture[str]
) -> None:
    assert apply(capsys).code == 0  # adopted: the record of what was applied exists
    edit_by_hand(realm)

    diff = apply(capsys, "--diff")
    assert diff.code == 0, diff.err
    assert f"domaine : passwordPolicy length(8) → {EXPORT_POLICY} (modifié à la main)" in diff.out
    assert (
        'client portail : redirectUris ["https://ailleurs.exemple.fr/*"] → '
        '["https://portail.exemple.fr/auth/callback"] (modifié à la main)'
    ) in diff.out
    assert "2 différence(s)" in diff.out
    assert realm.settings()["passwordPolicy"] == "length(8)"  # a diff changes nothing

    refused = apply(capsys)
    assert refused.code == 2
    assert "modifié à la main depuis la dernière application" in refused.err
    assert "domaine : passwordPolicy length(8)" in refused.err
    assert "client portail : redirectUris" in refused.err
    assert "--forcer" in refused.err
    assert realm.settings()["passwordPolicy"] == "length(8)"
    assert realm.portal()["redirectUris"] == ["https://ailleurs.exemple.fr/*"]

    forced = apply(capsys, "--forcer")
    assert forced.code == 0, forced.err
    assert "2 changement(s) appliqué(s)" in forced.out
    assert realm.settings()["passwordPolicy"] == EXPORT_POLICY
    assert realm.portal()["redirectUris"] == EXPORT_REDIRECTS

    again = apply(capsys)
    assert again.code == 0, again.err
    assert "Rien à faire" in again.out


def test_an_apply_leaves_accounts_their_passwords_and_attributes(
    platform: Platform, realm: AppliedRealm, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = add_test_api_client(realm.admin)
    email = f"camille.{secrets.token_hex(4)}@exemple.fr"
    user_id = create_complete_account(realm.admin, email, "Camille", "Durand")
    before = realm.admin.get_user(user_id)
    assert apply(capsys).code == 0
    edit_by_hand(realm)

    assert apply(capsys, "--forcer").code == 0

    after = realm.admin.get_user(user_id)
    assert after["attributes"] == before["attributes"]
    assert {k: after["attributes"][k] for k in PROFESSIONAL_DETAILS} == PROFESSIONAL_DETAILS
    assert (after["email"], after["firstName"], after["enabled"]) == (email, "Camille", True)
    assert logs_in(platform, realm, email, secret)
    assert realm.admin.get_client_id(TEST_API_CLIENT)  # a client the export does not name

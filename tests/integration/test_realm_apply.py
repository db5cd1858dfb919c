"""`python -m bridge keycloak appliquer` on a live realm edited by hand in Keycloak.

Each test gets a realm of its own on the session's Keycloak, created from the export as
`--import-realm` would, so that the session's realm is never disturbed.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
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


def edited_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: Any) -> None:
    """A copy of the export changed by `change` (on its JSON), used by the next applies."""
    source = realm_file(REALM_EXPORT_DIR)
    export = json.loads(source.read_text())
    change(export)
    folder = tmp_path / "realm-export"
    folder.mkdir(exist_ok=True)
    (folder / source.name).write_text(json.dumps(export, ensure_ascii=False))
    monkeypatch.setenv("BRIDGE_REALM_EXPORT_DIR", str(folder))


def _client(export: dict[str, Any], client_id: str) -> dict[str, Any]:
    return next(c for c in export["clients"] if c["clientId"] == client_id)


TRIAL_ROLE = {"name": "essai", "description": "Un rôle que l'export ajoute puis retire"}


def with_trial_role(export: dict[str, Any]) -> None:
    export["roles"]["client"]["portail"] = [TRIAL_ROLE]


def without_siret_mapper(export: dict[str, Any]) -> None:
    portal = _client(export, "portail")
    portal["protocolMappers"] = [
        m for m in portal["protocolMappers"] if m["name"] != "profil-siret"
    ]


def without_mapper_trial_role_and_a_catalog_role(export: dict[str, Any]) -> None:
    without_siret_mapper(export)
    export["roles"]["client"]["espace-employeur-cpf"] = []  # the catalog's: kept


def test_what_left_the_export_is_listed_deleted_then_nothing_is_left_to_do(
    realm: AppliedRealm,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    realm.admin.add_mapper_to_client(realm.portal()["id"], HAND_MAPPER)  # made in the console
    edited_export(tmp_path, monkeypatch, with_trial_role)
    first = apply(capsys)
    assert first.code == 0, first.err
    assert "essai" in client_role_names(realm, "portail")
    edited_export(tmp_path, monkeypatch, without_mapper_trial_role_and_a_catalog_role)

    diff = apply(capsys, "--diff")
    assert diff.code == 0, diff.err
    assert "  - suppression : client portail › mappeur profil-siret\n" in diff.out
    assert "  - suppression : client portail › rôle essai\n" in diff.out
    assert "2 différence(s)" in diff.out
    assert "profil-siret" in mapper_names(realm)  # a diff changes nothing

    applied = apply(capsys)
    assert applied.code == 0, applied.err
    assert "2 changement(s) appliqué(s)" in applied.out
    assert "profil-siret" not in mapper_names(realm)
    assert "essai" not in client_role_names(realm, "portail")
    assert HAND_MAPPER["name"] in mapper_names(realm)  # never in the record: left alone
    assert "gestionnaire" in client_role_names(realm, "espace-employeur-cpf")  # the catalog's

    again = apply(capsys)
    assert again.code == 0, again.err
    assert "Rien à faire" in again.out


def test_a_removed_object_edited_by_hand_is_refused_unless_forced(
    realm: AppliedRealm,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert apply(capsys).code == 0
    portal_id = realm.portal()["id"]
    mapper = next(
        m for m in realm.admin.get_mappers_from_client(portal_id) if m["name"] == "profil-siret"
    )
    mapper["config"]["claim.name"] = "siret_a_la_main"
    realm.admin.update_client_mapper(portal_id, mapper["id"], mapper)
    edited_export(tmp_path, monkeypatch, without_siret_mapper)

    diff = apply(capsys, "--diff")
    assert "suppression : client portail › mappeur profil-siret (modifié à la main)" in diff.out
    refused = apply(capsys)
    assert refused.code == 2
    assert "suppression : client portail › mappeur profil-siret" in refused.err
    assert "--forcer" in refused.err
    assert "profil-siret" in mapper_names(realm)

    forced = apply(capsys, "--forcer")
    assert forced.code == 0, forced.err
    assert "profil-siret" not in mapper_names(realm)


def test_the_service_account_gains_and_loses_the_roles_the_export_lists(
    realm: AppliedRealm,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert apply(capsys).code == 0
    assert "view-events" in service_account_roles(realm)
    realm_management = client_uuid(realm, "realm-management")
    bridge_account = realm.admin.get_client_service_account_user(client_uuid(realm, "bridge"))
    by_hand = realm.admin.get_client_role(realm_management, "view-clients")
    realm.admin.assign_client_role(bridge_account["id"], realm_management, [by_hand])

    def swap_roles(export: dict[str, Any]) -> None:
        roles = export["users"][0]["clientRoles"]["realm-management"]
        roles.remove("view-events")
        roles.append("view-realm")

    edited_export(tmp_path, monkeypatch, swap_roles)
    diff = apply(capsys, "--diff")
    where = "compte de service du client bridge › rôles de realm-management"
    assert f"suppression : {where} : rôle view-events" in diff.out
    assert f"{where} : rôle view-realm (absent) → true" in diff.out

    assert apply(capsys).code == 0
    roles = service_account_roles(realm)
    assert "view-realm" in roles
    assert "view-events" not in roles
    assert "view-clients" in roles  # given by hand, never in the record
    assert {"manage-users", "view-users", "query-users", "query-groups"} <= roles
    assert "Rien à faire" in apply(capsys).out


HAND_MAPPER: dict[str, Any] = {
    "name": "ajout-a-la-main",
    "protocol": "openid-connect",
    "protocolMapper": "oidc-hardcoded-claim-mapper",
    "config": {"claim.name": "a_la_main", "claim.value": "oui", "access.token.claim": "true"},
}


def mapper_names(realm: AppliedRealm) -> set[str]:
    return {m["name"] for m in realm.admin.get_mappers_from_client(realm.portal()["id"])}


def service_account_roles(realm: AppliedRealm) -> set[str]:
    account = realm.admin.get_client_service_account_user(client_uuid(realm, "bridge"))
    management = client_uuid(realm, "realm-management")
    return {r["name"] for r in realm.admin.get_client_roles_of_user(account["id"], management)}


def client_role_names(realm: AppliedRealm, client_id: str) -> set[str]:
    return {r["name"] for r in realm.admin.get_client_roles(client_uuid(realm, client_id))}


def client_uuid(realm: AppliedRealm, client_id: str) -> str:
    uuid = realm.admin.get_client_id(client_id)
    assert uuid, f"client {client_id} absent"
    return str(uuid)


TRIAL_ATTRIBUTE = {
    "name": "essai",
    "displayName": "Essai",
    "permissions": {"view": ["admin"], "edit": ["admin"]},
    "multivalued": False,
}


def _profile(export: dict[str, Any]) -> dict[str, Any]:
    component = export["components"]["org.keycloak.userprofile.UserProfileProvider"][0]
    profile: dict[str, Any] = json.loads(component["config"]["kc.user.profile.config"][0])
    return profile


def _set_profile(export: dict[str, Any], profile: dict[str, Any]) -> None:
    component = export["components"]["org.keycloak.userprofile.UserProfileProvider"][0]
    component["config"]["kc.user.profile.config"] = [json.dumps(profile, ensure_ascii=False)]


def with_trial_attribute(export: dict[str, Any]) -> None:
    profile = _profile(export)
    profile["attributes"].append(TRIAL_ATTRIBUTE)
    _set_profile(export, profile)


def test_a_profile_attribute_left_the_profile_and_the_users_values_stay(
    realm: AppliedRealm,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    edited_export(tmp_path, monkeypatch, with_trial_attribute)
    assert apply(capsys).code == 0
    user_id = create_complete_account(realm.admin, "dominique@exemple.fr", "Dominique", "Martin")
    user = realm.admin.get_user(user_id)
    realm.admin.update_user(user_id, {**user, "attributes": {**user["attributes"], "essai": ["x"]}})
    assert realm.admin.get_user(user_id)["attributes"]["essai"] == ["x"]
    edited_export(tmp_path, monkeypatch, lambda export: None)  # the export as it is

    applied = apply(capsys)
    assert "  - suppression : profil utilisateur : attribut essai\n" in applied.out, applied.err
    profile = realm.admin.get_realm_users_profile()
    assert "essai" not in {a["name"] for a in profile["attributes"]}
    assert "essai" not in realm.admin.get_user(user_id)["attributes"]  # now unmanaged: hidden
    realm.admin.update_realm_users_profile({**profile, "unmanagedAttributePolicy": "ADMIN_VIEW"})
    assert realm.admin.get_user(user_id)["attributes"]["essai"] == ["x"]  # its value was kept
    assert "Rien à faire" in apply(capsys).out


def localization(realm: AppliedRealm, locale: str) -> dict[str, str]:
    """The realm's texts for `locale`, as the admin console shows them."""
    response = realm.admin.connection.raw_get(f"admin/realms/{realm.name}/localization/{locale}")
    assert response.status_code == 200, response.text
    texts: dict[str, str] = response.json()
    return texts


def with_trial_text(export: dict[str, Any]) -> None:
    export["localizationTexts"]["fr"]["essaiTexte"] = "Un texte que l'export ajoute"


def test_localization_texts_are_applied_then_nothing_is_left_to_do_and_a_hand_edit_is_refused(
    realm: AppliedRealm,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    edited_export(tmp_path, monkeypatch, with_trial_text)
    first = apply(capsys)
    assert first.code == 0, first.err
    texts = localization(realm, "fr")
    assert texts["essaiTexte"] == "Un texte que l'export ajoute"
    assert texts["civilite"] == "Civilité"

    again = apply(capsys)
    assert again.code == 0, again.err
    assert "Rien à faire" in again.out

    edited_export(tmp_path, monkeypatch, lambda export: None)  # the text leaves the export
    removed = apply(capsys)
    assert removed.code == 0, removed.err
    assert "essaiTexte" not in localization(realm, "fr")

    connection = realm.admin.connection
    connection.add_param_headers("Content-Type", "text/plain")
    try:
        response = connection.raw_put(
            f"admin/realms/{realm.name}/localization/fr/civilite",
            data="Civilité (à la main)".encode(),
        )
    finally:
        connection.add_param_headers("Content-Type", "application/json")
    assert response.status_code < 300, response.text
    refused = apply(capsys)
    assert refused.code == 2
    assert "textes de la langue fr : civilite Civilité (à la main) → Civilité" in refused.err
    assert localization(realm, "fr")["civilite"] == "Civilité (à la main)"


def with_unknown_provider_in_registration(export: dict[str, Any]) -> None:
    form = next(f for f in export["authenticationFlows"] if f["alias"] == "inscription formulaire")
    form["authenticationExecutions"].append(
        {"authenticator": "fournisseur-inconnu", "requirement": "DISABLED", "priority": 99}
    )


def flow_providers(realm: AppliedRealm, alias: str) -> set[str]:
    return {
        str(row.get("providerId")) for row in realm.admin.get_authentication_flow_executions(alias)
    }


def test_a_failed_flow_rebuild_leaves_registration_on_a_complete_flow_then_the_next_run_ends_it(
    realm: AppliedRealm,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert apply(capsys).code == 0
    edited_export(tmp_path, monkeypatch, with_unknown_provider_in_registration)
    failed = apply(capsys)
    assert failed.code != 0

    bound = realm.settings()["registrationFlow"]
    assert bound != "registration"  # never the built-in flow, without captcha
    assert "demarches-captcha" in flow_providers(realm, bound)  # the whole old flow

    edited_export(tmp_path, monkeypatch, lambda export: None)  # the export as it is
    finished = apply(capsys)
    assert finished.code == 0, finished.err
    assert realm.settings()["registrationFlow"] == "inscription"
    assert "demarches-captcha" in flow_providers(realm, "inscription")
    aliases = {f["alias"] for f in realm.admin.get_authentication_flows()}
    assert not any("reconstruction" in alias for alias in aliases)
    assert "Rien à faire" in apply(capsys).out

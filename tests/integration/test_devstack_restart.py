"""`make run` twice, with a change of the realm export in between: the change is live, the
accounts and rights of the first run are still there (the local stack keeps its state)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest

from bridge.audit.service import Actor
from bridge.devstack.ports import free_port
from bridge.devstack.realm import REALM_NAME
from bridge.devstack.stack import LocalStack, StackPorts
from bridge.person.service import remember_person
from bridge.realm.export import REALM_EXPORT_DIR, realm_file
from tests.support.keycloak import KeycloakTarget
from tests.support.seed import etablissement_with_code
from tests.support.stack import PASSWORD, TEST_API_CLIENT, add_test_api_client
from tests.support.stack import create_complete_account as create_account

pytestmark = pytest.mark.keycloak

EMAIL = "camille.durand@exemple.fr"
STRICTER = "length(14)"


def local_stack(tmp_path: Path, ports: StackPorts) -> LocalStack:
    """The stack of `make run`, on the test's ports and state folder, the realm from a copy."""
    return LocalStack(
        ports=ports,
        data_dir=tmp_path / "etat",
        realm_dir=tmp_path / "realm-export",
        with_mail_web=False,
        fresh=False,
        admin_password="admin-des-tests",
        ready_timeout=300,  # a loaded CI machine: two starts in one test
    )


def change_the_realm(realm_dir: Path) -> None:
    """A stricter password policy and one more redirect URI for the portal."""
    path = realm_file(realm_dir)
    realm = json.loads(path.read_text())
    realm["passwordPolicy"] = realm["passwordPolicy"].replace("length(12)", STRICTER)
    portal = next(c for c in realm["clients"] if c["clientId"] == "portail")
    portal["redirectUris"].append("${REALM_PORTAL_URL:http://127.0.0.1:8000}/auth/retour")
    path.write_text(json.dumps(realm, ensure_ascii=False, indent=2))


def test_the_local_platform_keeps_accounts_and_rights_and_takes_a_realm_change(
    tmp_path: Path,
) -> None:
    (tmp_path / "realm-export").mkdir()
    shutil.copy2(realm_file(REALM_EXPORT_DIR), tmp_path / "realm-export")
    ports = StackPorts(  # the same for both starts, as `make run`'s are
        keycloak=free_port(),
        keycloak_management=free_port(),
        portal=free_port(),
        relying_party=free_port(),
        smtp=free_port(),
        mail_web=free_port(),
    )
    first = local_stack(tmp_path, ports)
    first.start(progress=False)
    try:
        target = KeycloakTarget(
            "local", first.keycloak_url, "admin", first.admin_password, REALM_NAME
        )
        admin = target.admin()
        secret = add_test_api_client(admin)
        user_id = create_account(admin, EMAIL, "Camille", "Durand")
        assert first.context is not None
        siret, code = etablissement_with_code(first.context)
        with first.context.work() as work:  # as the portal's login does, then the code
            remember_person(work.session, user_id, EMAIL, "Camille", "Durand")
            work.habilitations.activate(
                Actor(user_id, "Camille Durand"), "mon-activite-formation", siret, code
            )
    finally:
        first.stop()

    change_the_realm(tmp_path / "realm-export")
    second = local_stack(tmp_path, ports)
    second.start(progress=False)
    try:
        assert second.realm_changes is not None
        assert {(d.where, d.name) for d in second.realm_changes.differences} == {
            ("domaine", "passwordPolicy"),
            ("client portail", "redirectUris"),
        }
        admin = KeycloakTarget(
            "local", second.keycloak_url, "admin", second.admin_password, REALM_NAME
        ).admin()
        assert admin.get_realm(REALM_NAME)["passwordPolicy"].startswith(STRICTER)
        uuid = admin.get_client_id("portail")
        assert uuid, "client portail absent"
        portal = admin.get_client(uuid)
        assert f"{second.portal_url}/auth/retour" in portal["redirectUris"]

        token = httpx.post(
            f"{second.keycloak_url}/realms/{REALM_NAME}/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": TEST_API_CLIENT,
                "client_secret": secret,
                "username": EMAIL,
                "password": PASSWORD,
            },
            timeout=10,
        )
        assert token.status_code == 200, token.text
        assert second.context is not None
        with second.context.work() as work:
            assert work.habilitations.may_act(
                user_id, "mon-activite-formation", "gestionnaire", siret
            )
        assert second.apply_realm(_realm_env(second)).differences == []  # nothing left to do
    finally:
        second.stop()


def _realm_env(stack: LocalStack) -> dict[str, str]:
    """What the stack gave Keycloak's import: the same resolution for a second apply."""
    assert stack.keycloak is not None
    return stack.keycloak.config.realm_env

"""A change of the realm reaches the running compose stack with `up` again (no `-v`): the
realm step (`keycloak-config`) applies it, every account and right stays."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from bridge.realm.export import REALM_EXPORT_DIR, realm_file
from tests.docker.conftest import Stack
from tests.docker.test_compose_stack import new_account, portal_client, stack_admin
from tests.support.oidc_flow import code_flow_tokens
from tests.support.stack import PASSWORD

pytestmark = pytest.mark.docker

EMAIL = "camille.redeploiement@exemple.fr"
SIRET = "73282932000074"
DEMARCHE = "mon-activite-formation"


def copy_of_the_realm(tmp_path: Path) -> Path:
    """keycloak/realm-export/ copied where the test may change it (readable by the image's
    user, who reads it through the bind mount)."""
    folder = tmp_path / "realm-export"
    folder.mkdir()
    shutil.copy2(realm_file(REALM_EXPORT_DIR), folder)
    folder.chmod(0o755)
    realm_file(folder).chmod(0o644)
    return folder


def change_the_realm(folder: Path) -> None:
    """A flow execution, a user-profile attribute, a redirect URI and the password policy."""
    path = realm_file(folder)
    realm = json.loads(path.read_text())
    realm["passwordPolicy"] = realm["passwordPolicy"].replace("length(12)", "length(14)")
    portal = next(c for c in realm["clients"] if c["clientId"] == "portail")
    portal["redirectUris"].append("${REALM_PORTAL_URL:http://127.0.0.1:8000}/auth/retour")
    reset = next(f for f in realm["authenticationFlows"] if f["alias"] == "reinitialisation")
    otp = next(
        e
        for e in reset["authenticationExecutions"]
        if e.get("flowAlias") == "Reset - Conditional OTP"
    )
    otp["requirement"] = "DISABLED"
    component = realm["components"]["org.keycloak.userprofile.UserProfileProvider"][0]
    profile = json.loads(component["config"]["kc.user.profile.config"][0])
    profile["attributes"].append(
        {
            "name": "fonction",
            "displayName": "Fonction",
            "validations": {"length": {"max": 100}},
            "permissions": {"view": ["admin", "user"], "edit": ["admin", "user"]},
            "multivalued": False,
        }
    )
    component["config"]["kc.user.profile.config"] = [json.dumps(profile, ensure_ascii=False)]
    path.write_text(json.dumps(realm, ensure_ascii=False, indent=2))


def habilitations(stack: Stack) -> httpx.Response:
    tokens = code_flow_tokens(portal_client(stack, stack.url("KEYCLOAK_PORT")), EMAIL, PASSWORD)
    return httpx.get(
        f"{stack.url('PORTAL_PORT')}/api/v1/moi/habilitations",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=30,
    )


def test_a_realm_change_reaches_the_running_stack_and_keeps_accounts_and_rights(
    compose_stack: Callable[..., Stack], tmp_path: Path
) -> None:
    folder = copy_of_the_realm(tmp_path)
    stack = compose_stack(extra={"REALM_EXPORT_DIR": str(folder)})
    stack.project.up()
    assert stack.project.states()["keycloak-config"] == "done"

    # An account, and a right: the operator's activation code, used through the API.
    new_account(stack_admin(stack), EMAIL)
    issued = stack.project.run(
        "exec",
        "-T",
        "bridge",
        "sh",
        "-c",
        f"printf 'siret;raison_sociale\\n{SIRET};Organisme redéployé\\n' > /tmp/e.csv && "
        f"python -m bridge operateur import /tmp/e.csv --demarche {DEMARCHE} "
        "--lettres /tmp/l.csv >/dev/null && "
        f"python -m bridge operateur code {SIRET} --demarche {DEMARCHE} --reemettre",
    ).stdout
    code = re.search(rf"SIRET {SIRET} .*: (\S+)", issued)
    assert code, issued
    tokens = code_flow_tokens(portal_client(stack, stack.url("KEYCLOAK_PORT")), EMAIL, PASSWORD)
    granted = httpx.post(
        f"{stack.url('PORTAL_PORT')}/api/v1/demarches/{DEMARCHE}/activation",
        json={"siret": SIRET, "code": code.group(1)},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=30,
    )
    assert granted.status_code == 201, granted.text

    change_the_realm(folder)
    stack.project.up()  # the same project again: no `down`, no `-v`
    applied = stack.project.run("logs", "--no-color", "keycloak-config").stdout
    assert "4 changement(s) appliqué(s)" in applied, applied

    admin = stack_admin(stack)
    realm = admin.get_realm("demarches")
    assert realm["passwordPolicy"].startswith("length(14)")
    uuid = admin.get_client_id("portail")
    assert uuid, "client portail absent"
    portal = admin.get_client(uuid)
    assert f"{stack.env['PORTAL_PUBLIC_URL']}/auth/retour" in portal["redirectUris"]
    rows = admin.get_authentication_flow_executions("reinitialisation")
    otp = next(r for r in rows if r.get("displayName") == "Reset - Conditional OTP")
    assert otp["requirement"] == "DISABLED"
    profile = admin.connection.raw_get("admin/realms/demarches/users/profile").json()
    assert "fonction" in {a["name"] for a in profile["attributes"]}

    rights = habilitations(stack)  # the account logs in with its password, its right is there
    assert rights.status_code == 200, rights.text
    assert [(h["demarche"], h["siret"]) for h in rights.json()] == [(DEMARCHE, SIRET)]

    again = stack.project.run("run", "--rm", "-T", "keycloak-config").stdout
    assert "Rien à faire" in again, again

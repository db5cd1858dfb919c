"""docker-compose.yml as a person with Docker runs it: built, started, logged into, taken down."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from keycloak import KeycloakAdmin

from bridge.devstack.ports import LOOPBACK
from tests.docker.conftest import Stack, all_containers, leftovers
from tests.support.docker_engine import DockerError, check_engine
from tests.support.keycloak import KeycloakTarget
from tests.support.oidc_flow import OidcClient, code_flow_tokens
from tests.support.portal_login import log_in_to_portal
from tests.support.stack import PASSWORD, create_complete_account

pytestmark = pytest.mark.docker


def stack_admin(stack: Stack, base_url: str | None = None) -> KeycloakAdmin:
    """The realm's admin API through the bootstrap administrator of the stack's Keycloak."""
    return KeycloakTarget(
        "docker",
        base_url or stack.url("KEYCLOAK_PORT"),
        stack.env["KC_BOOTSTRAP_ADMIN_USERNAME"],
        stack.env["KC_BOOTSTRAP_ADMIN_PASSWORD"],
        "demarches",
    ).admin()


def new_account(admin: KeycloakAdmin, email: str) -> str:
    return create_complete_account(admin, email, "Camille", "Docker")


def portal_client(stack: Stack, keycloak_url: str) -> OidcClient:
    """The portal's own OIDC client, as the realm export declares it (audience bridge-api)."""
    return OidcClient(
        keycloak_url=keycloak_url,
        realm="demarches",
        client_id="portail",
        secret=stack.env["REALM_PORTAL_CLIENT_SECRET"],
        redirect_uri=f"{stack.env['PORTAL_PUBLIC_URL']}/auth/callback",
    )


def test_the_stack_starts_healthy_logs_a_person_in_and_serves_the_api_then_leaves_nothing(
    compose_stack: Callable[..., Stack],
) -> None:
    stack = compose_stack()
    stack.project.up()
    states = stack.project.states()
    one_shot = {"bridge-migrate", "keycloak-config", "bridge-catalogue"}  # deploy steps: exit 0
    assert {states[s] for s in one_shot} == {"done"}, states
    assert {states[s] for s in states if s not in one_shot} == {"healthy"}, states

    # Keycloak runs the optimized image in production mode.
    logs = stack.project.run("logs", "keycloak").stdout
    assert "Profile prod activated" in logs

    admin = stack_admin(stack)
    new_account(admin, "camille.docker@exemple.fr")

    # Into the portal, through Keycloak's login form: the portal's session says who.
    with httpx.Client(base_url=stack.url("PORTAL_PORT"), follow_redirects=True, timeout=30) as web:
        log_in_to_portal(web, "camille.docker@exemple.fr", PASSWORD, "Camille Docker")

    # A code flow with PKCE gives a token the bridge's API accepts; no token, no answer.
    tokens = code_flow_tokens(
        portal_client(stack, stack.url("KEYCLOAK_PORT")), "camille.docker@exemple.fr", PASSWORD
    )
    api = f"{stack.url('PORTAL_PORT')}/api/v1/moi/habilitations"
    answer = httpx.get(api, headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == []
    refused = httpx.get(api)
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")

    stack.project.down()
    assert leftovers(stack.project) == []


def test_a_missing_secret_refuses_to_start_and_starts_nothing(
    compose_stack: Callable[..., Stack],
) -> None:
    stack = compose_stack(drop=("KEYCLOAK_DB_PASSWORD",))
    with pytest.raises(DockerError) as refused:
        stack.project.up(["keycloak-db"])
    assert "KEYCLOAK_DB_PASSWORD manquant" in str(refused.value)
    assert str(refused.value).startswith("Un secret manque dans .env")
    assert leftovers(stack.project) == []


def test_a_port_already_taken_is_named_and_the_stack_is_stopped(
    compose_stack: Callable[..., Stack],
) -> None:
    stack = compose_stack()
    with socket.socket() as taken:
        taken.bind((LOOPBACK, int(stack.env["MAIL_WEB_PORT"])))
        taken.listen()
        with pytest.raises(DockerError) as refused:
            stack.project.up(["mailcatcher"])
    assert str(refused.value).startswith("Un port que la pile publie sur 127.0.0.1 est déjà pris")
    assert leftovers(stack.project) == []


def test_a_container_that_never_becomes_healthy_is_named_and_the_stack_is_stopped(
    compose_stack: Callable[..., Stack], tmp_path: Path
) -> None:
    # The database's health check made to fail: the container runs but is never healthy.
    override = tmp_path / "jamais-sain.yml"
    override.write_text(
        "services:\n  keycloak-db:\n    healthcheck:\n"
        '      test: ["CMD", "false"]\n      interval: 1s\n      retries: 2\n'
    )
    stack = compose_stack()
    stack.project.files.append(override)
    with pytest.raises(DockerError) as refused:
        stack.project.up(["keycloak-db"], healthy_within=60)
    message = str(refused.value)
    assert message.startswith("Le service keycloak-db n'est pas devenu sain (unhealthy)"), message
    assert "la pile a été arrêtée" in message
    assert leftovers(stack.project) == []


def test_an_image_that_fails_to_build_is_said_and_nothing_starts(
    compose_stack: Callable[..., Stack], tmp_path: Path
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\nRUN exit 3\n")
    override = tmp_path / "casse.yml"
    override.write_text(
        f"services:\n  casse:\n    build: {tmp_path}\n    image: demarches-casse:test\n"
    )
    stack = compose_stack()
    stack.project.files.append(override)
    before = all_containers()
    with pytest.raises(DockerError) as refused:
        stack.project.up(["casse"])
    assert str(refused.value).startswith("La construction d'une image a échoué"), refused.value
    assert leftovers(stack.project) == []
    assert all_containers() - before == set(), "conteneur de construction laissé"


def test_an_engine_that_does_not_answer_is_said_in_one_sentence(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/aucun-moteur.sock")
    with pytest.raises(DockerError) as refused:
        check_engine()
    assert str(refused.value).startswith("Le moteur Docker ne répond pas")


def test_no_docker_on_the_machine_is_said_in_one_sentence(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no `docker` command to be found
    with pytest.raises(DockerError) as refused:
        check_engine()
    assert str(refused.value).startswith("Docker n'est pas installé sur cette machine")

"""docker-compose.yml, the Dockerfiles and .env.example describe the platform of the local stack.

No Docker engine is needed: the files are parsed and compared with `bridge.devstack`, so a
change of Keycloak version, port or realm placeholder cannot leave the containers behind.
The stack itself is started for real by the Docker tests (tests/docker, `-m docker`).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.devstack.keycloak_dist import KEYCLOAK_VERSION
from bridge.devstack.keycloak_server import REALM_EXPORT_DIR
from bridge.devstack.stack import StackPorts

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
KEYCLOAK_DOCKERFILE = REPO_ROOT / "keycloak" / "Dockerfile"
ENV_EXAMPLE = REPO_ROOT / ".env.example"

KEYCLOAK_IMAGE = "quay.io/keycloak/keycloak"
KEYCLOAK_IMPORT_DIR = "/opt/keycloak/data/import"
LOOPBACK = "127.0.0.1"
DEV_SECRET_MARKER = "a-changer"

# `${VAR}`, `${VAR:-default}`, `${VAR:?message}` or `$VAR`; `$$` is an escaped dollar.
_COMPOSE_VARIABLE = re.compile(r"\$(?:\$|\{(?P<braced>[A-Za-z_]\w*)|(?P<bare>[A-Za-z_]\w*))")
_REQUIRED_COMPOSE_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_]\w*):?\?")
# Keycloak resolves `${NAME}` and `${NAME:default}` in the realm files from its environment.
_REALM_PLACEHOLDER = re.compile(r"\$\{(?P<name>REALM_\w+)(?P<default>:[^}]*)?\}")
_ENV_LINE = re.compile(r"^(?P<name>[A-Za-z_]\w*)=(?P<value>.*)$")
# A published port read from .env, with its default: `${KEYCLOAK_PORT:-8080}`.
_PORT_VARIABLE = re.compile(r"\$\{[A-Z_0-9]+:-(?P<default>\d+)\}")


@dataclass(frozen=True)
class PublishedPort:
    service: str
    host_ip: str
    host_port: int
    container_port: int


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = compose["services"]
    assert isinstance(found, dict)
    assert found, "docker-compose.yml ne déclare aucun service"
    return found


def _strings(node: object) -> Iterator[str]:
    """Every string value of a parsed YAML document, where compose interpolates variables."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _compose_variables(text: str) -> set[str]:
    names = set()
    for match in _COMPOSE_VARIABLE.finditer(text):
        name = match.group("braced") or match.group("bare")
        if name is not None:
            names.add(name)
    return names


def _environment(service: dict[str, Any]) -> dict[str, str]:
    """The `environment` of a service, written either as a mapping or as `NAME=value` items."""
    raw = service.get("environment", {})
    if isinstance(raw, list):
        return dict(str(item).partition("=")[::2] for item in raw)
    return {str(name): str(value) for name, value in raw.items()}


def _published_ports(name: str, service: dict[str, Any]) -> list[PublishedPort]:
    published = []
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            host_ip = str(entry.get("host_ip", ""))
            host_port, container_port = str(entry.get("published", "")), str(entry["target"])
        else:
            with_defaults = _PORT_VARIABLE.sub(lambda found: found.group("default"), str(entry))
            parts = with_defaults.split("/")[0].rsplit(":", 2)
            if len(parts) == 3:
                host_ip, host_port, container_port = parts
            elif len(parts) == 2:
                host_ip, (host_port, container_port) = "", parts
            else:
                host_ip, host_port, container_port = "", "", parts[0]
        assert host_port.isdigit(), f"{name} : port publié sans numéro par défaut ({entry!r})"
        published.append(PublishedPort(name, host_ip, int(host_port), int(container_port)))
    return published


def _all_published_ports(services: dict[str, dict[str, Any]]) -> list[PublishedPort]:
    return [port for name, service in services.items() for port in _published_ports(name, service)]


def _realm_placeholders() -> dict[str, bool]:
    """Name of every `${REALM_...}` placeholder of the realm files → whether it has a default."""
    placeholders: dict[str, bool] = {}
    for realm_file in sorted(REALM_EXPORT_DIR.glob("*.json")):
        for match in _REALM_PLACEHOLDER.finditer(realm_file.read_text(encoding="utf-8")):
            name = match.group("name")
            placeholders[name] = placeholders.get(name, True) and match.group("default") is not None
    return placeholders


def _env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = _ENV_LINE.match(line.strip())
        if match:
            values[match.group("name")] = match.group("value")
    return values


def _dockerfile_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]


def test_keycloak_image_is_built_optimized_from_the_version_the_local_stack_runs(
    services: dict[str, dict[str, Any]],
) -> None:
    build = services["keycloak"]["build"]
    assert (COMPOSE_FILE.parent / build["context"] / build["dockerfile"]) == KEYCLOAK_DOCKERFILE
    lines = _dockerfile_lines(KEYCLOAK_DOCKERFILE)
    keycloak_stages = [line for line in lines if line.startswith(f"FROM {KEYCLOAK_IMAGE}")]
    assert keycloak_stages, "keycloak/Dockerfile ne part pas de l'image officielle"
    assert {line.split()[1] for line in keycloak_stages} == {f"{KEYCLOAK_IMAGE}:{KEYCLOAK_VERSION}"}
    assert "RUN /opt/keycloak/bin/kc.sh build" in lines
    assert lines[-1] == 'CMD ["start", "--optimized", "--import-realm"]'
    assert "command" not in services["keycloak"], (
        "le service ne doit pas remplacer start --optimized"
    )


def test_keycloak_image_holds_the_realm_files_of_the_local_stack() -> None:
    copies = [
        line.split()[1:]
        for line in _dockerfile_lines(KEYCLOAK_DOCKERFILE)
        if line.startswith("COPY ")
    ]
    imported = [
        source for source, *_, target in copies if target.rstrip("/") == KEYCLOAK_IMPORT_DIR
    ]
    assert imported, "le royaume n'est pas copié dans l'image de Keycloak"
    assert (REPO_ROOT / imported[0]).resolve() == REALM_EXPORT_DIR.resolve()


def test_keycloak_environment_gives_every_realm_placeholder_without_default(
    services: dict[str, dict[str, Any]],
) -> None:
    placeholders = _realm_placeholders()
    assert placeholders, f"aucun ${{REALM_...}} trouvé dans {REALM_EXPORT_DIR}"
    environment = _environment(services["keycloak"])

    missing = sorted(
        name
        for name, has_default in placeholders.items()
        if not has_default and name not in environment
    )
    assert missing == []


def test_keycloak_never_falls_back_to_the_realm_development_secrets(
    services: dict[str, dict[str, Any]],
) -> None:
    environment = _environment(services["keycloak"])
    secrets = sorted(name for name in _realm_placeholders() if name.endswith("_SECRET"))
    assert secrets, "le royaume ne déclare aucun secret de client"

    for name in secrets:
        assert name in environment, f"{name} n'est pas donné à Keycloak"
        assert _REQUIRED_COMPOSE_VARIABLE.search(environment[name]), (
            f"{name} doit venir de .env avec ${{VAR:?message}} pour qu'un oubli arrête le démarrage"
        )


def test_compose_publishes_ports_on_loopback_only(services: dict[str, dict[str, Any]]) -> None:
    published = _all_published_ports(services)
    assert published, "docker-compose.yml ne publie aucun port"
    assert [port for port in published if port.host_ip != LOOPBACK] == []


def test_compose_publishes_the_local_stack_port_for_each_role(
    services: dict[str, dict[str, Any]],
) -> None:
    ports = StackPorts()
    services = {name: spec for name, spec in services.items() if not spec.get("profiles")}
    expected = {
        ("keycloak", ports.keycloak),
        ("bridge", ports.portal),
        ("demarche-maf", ports.relying_party),
        ("mailcatcher", ports.smtp),
        ("mailcatcher", ports.mail_web),
    }
    published = _all_published_ports(services)

    assert {(port.service, port.host_port) for port in published} == expected
    # Same port inside and outside, so the public URLs given to each app are the real ones.
    assert [port for port in published if port.host_port != port.container_port] == []


def test_compose_starts_a_service_only_once_its_dependencies_are_healthy(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name} : depends_on sans condition"
        for dependency, spec in depends_on.items():
            assert dependency in services, f"{name} dépend d'un service inconnu : {dependency}"
            one_shot = services[dependency].get("restart") == "no"
            expected = "service_completed_successfully" if one_shot else "service_healthy"
            assert spec.get("condition") == expected, f"{name} → {dependency}"


def test_every_long_running_service_has_a_healthcheck(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        if service.get("restart") == "no":
            continue  # a one-shot task, not a server
        healthcheck = service.get("healthcheck", {})
        assert healthcheck.get("test"), f"{name} n'a pas de healthcheck"
        assert not healthcheck.get("disable", False), f"{name} désactive son healthcheck"


def test_bridge_image_does_not_run_as_root() -> None:
    lines = [line.strip() for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()]
    last_stage = max(i for i, line in enumerate(lines) if line.upper().startswith("FROM "))
    users = [line.split()[1] for line in lines[last_stage:] if line.upper().startswith("USER ")]

    assert users, "l'image finale n'a pas de ligne USER : elle tournerait en root"
    assert users[-1].split(":")[0] not in {"root", "0"}


def test_env_example_defines_every_variable_compose_uses(compose: dict[str, Any]) -> None:
    used = {name for text in _strings(compose) for name in _compose_variables(text)}
    assert used, "docker-compose.yml ne lit aucune variable"

    assert sorted(used - _env_example().keys()) == []


def test_env_example_gives_only_obviously_fake_secrets(compose: dict[str, Any]) -> None:
    required = {
        match.group("name")
        for text in _strings(compose)
        for match in _REQUIRED_COMPOSE_VARIABLE.finditer(text)
    }
    values = _env_example()

    assert required, "docker-compose.yml n'exige aucun secret"
    assert sorted(name for name in required if DEV_SECRET_MARKER not in values.get(name, "")) == []


def test_prometheus_runs_without_the_metrics_token_in_its_environment(
    services: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """The entry point writes the token to the file Prometheus reads, then unsets it: the
    process (and /proc/<pid>/environ, crash reports) never holds it."""
    script = services["prometheus"]["entrypoint"][-1]
    assert "exec /bin/prometheus" in script
    runnable = (
        script.replace("$$", "$")
        .replace("/tmp/jeton-mesures", str(tmp_path / "jeton-mesures"))  # noqa: S108
        .replace("exec /bin/prometheus", "exec env #")  # what the exec'd process is given
    )
    ran = subprocess.run(
        ["sh", "-c", runnable],
        env={"PATH": "/usr/bin:/bin", "BRIDGE_METRICS_TOKEN": "jeton-secret"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert (tmp_path / "jeton-mesures").read_text() == "jeton-secret"
    assert "jeton-secret" not in ran.stdout
    assert "BRIDGE_METRICS_TOKEN" not in ran.stdout

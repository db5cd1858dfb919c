"""Fixtures of the Docker tests (`-m docker`): a real engine, the images, compose projects.

Each test gets its own compose project (unique name, free ports on 127.0.0.1, random
secrets in its own env file) and leaves nothing behind: `down -v` runs whatever happens.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bridge.devstack.ports import LOOPBACK, free_port
from bridge.settings import REPO_ROOT
from tests.support.docker_engine import ComposeProject, check_engine, ensure_standins, run

pytestmark = pytest.mark.docker

PORT_VARIABLES = (
    "KEYCLOAK_PORT",
    "PORTAL_PORT",
    "MAF_PORT",
    "SMTP_PORT",
    "MAIL_WEB_PORT",
    "KEYCLOAK_2_PORT",
    "PORTAL_2_PORT",
    "CLUSTER_KEYCLOAK_PORT",
    "CLUSTER_PORTAL_PORT",
    "PROMETHEUS_PORT",
    "ALERTMANAGER_PORT",
)


def example_env_with_secrets() -> dict[str, str]:
    """.env.example with every « a-changer » value replaced by a fresh random secret."""
    values: dict[str, str] = {}
    for line in (REPO_ROOT / ".env.example").read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        if "a-changer" in value:
            value = secrets.token_hex(24)
        values[key.strip()] = value
    return values


@dataclass
class Stack:
    """A compose project of this test and where its published ports are."""

    project: ComposeProject
    env: dict[str, str]

    def url(self, port_variable: str) -> str:
        return f"http://{LOOPBACK}:{self.env[port_variable]}"


@pytest.fixture(scope="session")
def docker_images() -> None:
    """A Docker engine that answers and the images the compose file names (stand-ins here)."""
    check_engine()
    ensure_standins()


@pytest.fixture
def compose_stack(docker_images: None, tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    """Make (not start) a compose project; every project made is taken down after the test."""
    made: list[ComposeProject] = []

    def make(
        *,
        cluster: bool = False,
        observabilite: bool = False,
        drop: tuple[str, ...] = (),
        extra: dict[str, str] | None = None,
    ) -> Stack:
        env = example_env_with_secrets()
        env.update(extra or {})
        env.update({name: str(free_port()) for name in PORT_VARIABLES})
        public = "CLUSTER_KEYCLOAK_PORT" if cluster else "KEYCLOAK_PORT"
        portal = "CLUSTER_PORTAL_PORT" if cluster else "PORTAL_PORT"
        env["KEYCLOAK_PUBLIC_URL"] = f"http://{LOOPBACK}:{env[public]}"
        env["PORTAL_PUBLIC_URL"] = f"http://{LOOPBACK}:{env[portal]}"
        env["MAF_PUBLIC_URL"] = f"http://{LOOPBACK}:{env['MAF_PORT']}"
        if cluster:
            env["KEYCLOAK_INTERNAL_URL"] = "http://proxy:8080"
            env["PORTAL_INTERNAL_URL"] = "http://proxy:8000"
        for name in drop:
            env.pop(name)
        env_file = tmp_path / f"env-{len(made)}"
        env_file.write_text("".join(f"{key}={value}\n" for key, value in env.items()))
        project = ComposeProject(
            name=f"demarches-test-{uuid.uuid4().hex[:8]}",
            env_file=env_file,
            profiles=[
                *(["cluster"] if cluster else []),
                *(["observabilite"] if observabilite else []),
            ],
        )
        made.append(project)
        return Stack(project, env)

    yield make
    for project in made:
        project.down()


def leftovers(project: ComposeProject) -> list[str]:
    """Containers, volumes and networks of the project still on the engine."""
    label = f"label=com.docker.compose.project={project.name}"
    found: list[str] = []
    for kind in ("container", "volume", "network"):
        listing = ["docker", kind, "ls", "-q", "--filter", label]
        if kind == "container":
            listing.insert(3, "-a")
        found += [f"{kind} {name}" for name in run(listing).stdout.split()]
    return found


def all_containers() -> set[str]:
    """Every container of the engine, running or not (a failed build step leaves one)."""
    return set(run(["docker", "ps", "-a", "-q", "--no-trunc"]).stdout.split())

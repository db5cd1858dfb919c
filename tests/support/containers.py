"""The container backend of the tests: Keycloak and PostgreSQL through testcontainers.

Keycloak runs on the host's network, listening on 127.0.0.1 only, because the realm it
serves sends mail to the test SMTP catcher and back-channel logouts to the portal, both on
the host's loopback. PostgreSQL publishes its port on 127.0.0.1.

Ryuk (testcontainers' reaper) is off, its image cannot be pulled here: our containers carry
`CONTAINER_LABEL` and the pid of the run, and a later run removes those whose run is gone.
"""

from __future__ import annotations

import functools
import os
import secrets
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from bridge.devstack.keycloak_dist import KEYCLOAK_VERSION
from bridge.devstack.keycloak_server import METRICS_OPTIONS, PROVIDERS_JAR, REPO_ROOT, THEMES_DIR
from bridge.devstack.ports import LOOPBACK, free_port
from bridge.devstack.realm import keycloak_theme
from tests.support.docker_engine import DockerError, check_engine, image_label
from tests.support.docker_engine import run as run_docker

# testcontainers reads these when it is imported. This machine has /.dockerenv, so without
# them testcontainers would reach containers through a gateway address instead of 127.0.0.1.
for _name, _value in {
    "TESTCONTAINERS_CONNECTION_MODE": "docker_host",
    "TC_HOST": LOOPBACK,
    "TESTCONTAINERS_RYUK_DISABLED": "true",
}.items():
    os.environ.setdefault(_name, _value)

with warnings.catch_warnings():
    # The community Keycloak module decorates its probe with a deprecated helper at import;
    # our subclass replaces that probe.
    warnings.simplefilter("ignore", DeprecationWarning)
    from testcontainers.community.keycloak import KeycloakContainer
    from testcontainers.community.postgres import PostgresContainer

KEYCLOAK_IMAGE = f"quay.io/keycloak/keycloak:{KEYCLOAK_VERSION}"
POSTGRES_IMAGE = "postgres:15"
CONTAINER_LABEL = "org.demarches.tests"
OWNER_LABEL = f"{CONTAINER_LABEL}.pid"
DSFR_DIST = REPO_ROOT / "node_modules" / "@gouvfr" / "dsfr" / "dist"
# docker-py's port binding "on 127.0.0.1, any free port" (testcontainers types it as int).
LOOPBACK_ANY_PORT: Any = (LOOPBACK,)


def session_labels() -> dict[str, str]:
    return {CONTAINER_LABEL: "session", OWNER_LABEL: str(os.getpid())}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@functools.cache
def prepare_engine() -> None:
    """Check the engine and images once per run, and remove the containers of dead runs.

    A run killed before its context managers ended leaves its containers behind (no Ryuk);
    those of a run still alive (another pytest on this machine) are left alone.
    """
    check_engine()
    for image in (KEYCLOAK_IMAGE, POSTGRES_IMAGE):
        if image_label(image) is None:
            raise DockerError(
                f"L'image {image} est absente du moteur Docker : construisez les images de "
                "remplacement (« python -m tests.support.docker_engine ») ou tirez-la."
            )
    listing = run_docker(
        ["docker", "ps", "-a", "--filter", f"label={CONTAINER_LABEL}=session",
         "--format", f'{{{{.ID}}}} {{{{.Label "{OWNER_LABEL}"}}}}'],
        timeout=60,
    ).stdout  # fmt: skip
    for line in listing.splitlines():
        container_id, _, owner = line.partition(" ")
        if not (owner.isdigit() and _alive(int(owner))):
            run_docker(["docker", "rm", "-f", "-v", container_id], timeout=120, check=False)


class LoopbackKeycloakContainer(KeycloakContainer):
    """Keycloak on the host's network, with our providers and themes mounted read-only.

    Nothing is published: it listens on two free ports of 127.0.0.1, like the local backend.
    The realm is created afterwards through the admin API.
    """

    def __init__(self, admin_password: str, ready_timeout: float = 180.0) -> None:
        http_port, management_port = free_port(), free_port()
        command = [
            "start-dev",
            f"--http-host={LOOPBACK}",
            f"--http-port={http_port}",
            f"--http-management-port={management_port}",
            "--health-enabled=true",
            *METRICS_OPTIONS,
            "--spi-theme--cache-themes=false",
            "--spi-theme--cache-templates=false",
        ]
        super().__init__(
            KEYCLOAK_IMAGE,
            username="admin",
            password=admin_password,
            port=http_port,  # `self.port`, which `_disable_ssl_required` gives kcadm.sh
            management_port=management_port,
            cmd=" ".join(command),
        )
        self.ports.clear()
        self.ready_timeout = ready_timeout
        self.with_kwargs(network_mode="host", labels=session_labels())
        for path, hint in ((PROVIDERS_JAR, "make providers"), (DSFR_DIST, "make setup")):
            if not path.exists():
                raise RuntimeError(f"{path} est absent : lancez « {hint} ».")
        self.with_volume_mapping(PROVIDERS_JAR, f"/opt/keycloak/providers/{PROVIDERS_JAR.name}")
        for theme in (keycloak_theme("dsfr"), keycloak_theme("neutre")):
            self.with_volume_mapping(THEMES_DIR / theme, f"/opt/keycloak/themes/{theme}")
        # keycloak/themes/demarches-dsfr/login/resources/dsfr is a relative link to here.
        self.with_volume_mapping(DSFR_DIST, "/opt/node_modules/@gouvfr/dsfr/dist")

    def get_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def get_management_url(self) -> str:
        return f"http://{LOOPBACK}:{self.management_port}"

    def _readiness_probe(self) -> None:
        """Wait for `/health/ready`; a container that exits or is too slow is reported."""
        deadline = time.monotonic() + self.ready_timeout
        url = f"{self.get_management_url()}/health/ready"
        container = self.get_wrapped_container()
        while True:
            container.reload()
            if container.status not in {"created", "running"}:
                raise RuntimeError(
                    f"Le conteneur Keycloak s'est arrêté au démarrage ({container.status}) :\n"
                    + self.log_tail()
                )
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"Keycloak (conteneur) n'est pas prêt après {self.ready_timeout:.0f} s :\n"
                    + self.log_tail()
                )
            time.sleep(0.5)

    def log_tail(self, lines: int = 30) -> str:
        logs: bytes = self.get_wrapped_container().logs(tail=lines)
        return logs.decode(errors="replace")


@contextmanager
def keycloak_container() -> Iterator[tuple[str, str, str]]:
    """Yield the URL, the admin password and the management URL of a ready Keycloak
    container, removed at the end."""
    prepare_engine()
    password = secrets.token_urlsafe(16)
    with LoopbackKeycloakContainer(password) as container:
        yield container.get_url(), password, container.get_management_url()


@contextmanager
def postgres_container() -> Iterator[str]:
    """Yield the SQLAlchemy URL (psycopg) of a fresh PostgreSQL 15 container, removed at the end."""
    prepare_engine()
    container = PostgresContainer(
        POSTGRES_IMAGE,
        username="bridge",
        password=secrets.token_urlsafe(16),
        dbname="bridge",
        driver="psycopg",
    )
    container.ports[str(container.port)] = LOOPBACK_ANY_PORT
    container.with_kwargs(labels=session_labels())
    with container:
        yield container.get_connection_url()

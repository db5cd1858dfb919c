"""The Keycloak of a test session: ours, the one named by TEST_KEYCLOAK_URL, or a container.

`TEST_KEYCLOAK_BACKEND` forces a choice (`local`, `url`, `container`); by default the URL
is used when set and the local distribution otherwise: the container backend
(testcontainers, see tests/support/containers.py) runs only when asked for. With `local`
the realm comes from `--import-realm` (the production path); with the others it is created
through the admin API under a unique name and deleted at the end, so a shared server is
never disturbed.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from keycloak import KeycloakAdmin, KeycloakOpenIDConnection
from sqlalchemy import make_url

from bridge.devstack.keycloak_dist import ensure_distribution
from bridge.devstack.keycloak_server import KeycloakConfig, KeycloakServer
from bridge.devstack.ports import free_port
from bridge.devstack.realm import REALM_NAME, render_realm
from bridge.devstack.stack import CACHE_DIR


@dataclass(frozen=True)
class KeycloakTarget:
    """How tests reach the Keycloak of the session."""

    backend: str
    url: str
    admin_user: str
    admin_password: str
    realm: str
    # Its management interface (/metrics), when the tests started it; "" otherwise.
    management_url: str = ""

    def admin(self, realm: str | None = None) -> KeycloakAdmin:
        """python-keycloak admin client on the test realm, logged in as the master admin."""
        connection = KeycloakOpenIDConnection(
            server_url=self.url,
            username=self.admin_user,
            password=self.admin_password,
            realm_name=realm or self.realm,
            user_realm_name="master",
            client_id="admin-cli",
        )
        return KeycloakAdmin(connection=connection)


def choose_backend() -> str:
    forced = os.environ.get("TEST_KEYCLOAK_BACKEND")
    if forced:
        if forced not in {"url", "container", "local"}:
            raise ValueError("TEST_KEYCLOAK_BACKEND vaut url, container ou local")
        return forced
    return "url" if os.environ.get("TEST_KEYCLOAK_URL") else "local"


@contextmanager
def session_keycloak(realm_env: dict[str, str], data_dir: Path) -> Iterator[KeycloakTarget]:
    """Yield a ready Keycloak whose test realm is configured with `realm_env`."""
    backend = choose_backend()
    if backend == "local":
        password = secrets.token_urlsafe(16)
        config = KeycloakConfig(
            home=ensure_distribution(CACHE_DIR),
            data_dir=data_dir,
            http_port=free_port(),
            management_port=free_port(),
            admin_user="admin",
            admin_password=password,
            realm_env=realm_env,
            ready_timeout=float(os.environ.get("DEVSTACK_KEYCLOAK_TIMEOUT", "180")),
        )
        with KeycloakServer(config):
            yield KeycloakTarget(
                "local", config.base_url, "admin", password, REALM_NAME, config.management_url
            )
        return
    if backend == "url":
        target = KeycloakTarget(
            "url",
            os.environ["TEST_KEYCLOAK_URL"].rstrip("/"),
            os.environ.get("TEST_KEYCLOAK_ADMIN_USERNAME", "admin"),
            os.environ.get("TEST_KEYCLOAK_ADMIN_PASSWORD", "admin"),
            f"{REALM_NAME}-tests-{secrets.token_hex(4)}",
            os.environ.get("TEST_KEYCLOAK_MANAGEMENT_URL", "").rstrip("/"),
        )
        with _imported_realm(target, realm_env):
            yield target
        return
    from tests.support.containers import keycloak_container

    with keycloak_container() as (url, password, management_url):
        target = KeycloakTarget(
            "container",
            url,
            "admin",
            password,
            f"{REALM_NAME}-tests-{secrets.token_hex(4)}",
            management_url,
        )
        with _imported_realm(target, realm_env):
            yield target


@contextmanager
def _imported_realm(target: KeycloakTarget, realm_env: dict[str, str]) -> Iterator[None]:
    master = target.admin(realm="master")
    master.create_realm(render_realm(realm_env, name=target.realm))
    try:
        yield
    finally:
        master.delete_realm(target.realm)


def keycloak_on_postgres(
    folder: Path, database_url: str, realm_env: dict[str, str] | None = None
) -> KeycloakServer:
    """A Keycloak (not started) on the PostgreSQL database `database_url`, as in production.

    From a copy of the distribution kept in the cache for PostgreSQL: `start-dev` rebuilds
    its home for another database (two minutes on a busy machine), which must neither happen
    under the session's Keycloak running from the shared home nor at every start.
    """
    home = CACHE_DIR / f"{ensure_distribution(CACHE_DIR).name}-postgres"
    if not home.is_dir():
        partial = home.with_name(f".{home.name}-{secrets.token_hex(4)}")
        shutil.copytree(ensure_distribution(CACHE_DIR), partial, symlinks=True)
        partial.rename(home)
    address = make_url(database_url)
    return KeycloakServer(
        KeycloakConfig(
            home=home,
            data_dir=folder / "keycloak-data",
            http_port=free_port(),
            management_port=free_port(),
            admin_user="admin",
            admin_password=secrets.token_urlsafe(16),
            realm_env=realm_env or {},
            ready_timeout=600,
            database=(
                "--db=postgres",
                f"--db-url=jdbc:postgresql://{address.host}:{address.port}/{address.database}",
                f"--db-username={address.username}",
                f"--db-password={address.password or 'postgres'}",
            ),
        )
    )

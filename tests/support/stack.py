"""The test session's platform: mail catcher, Keycloak, portal and démarche site on free ports."""

from __future__ import annotations

import os
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from keycloak import KeycloakAdmin

from bridge.api.app import create_app
from bridge.bootstrap import AppContext
from bridge.catalog import load_catalog
from bridge.db import migrate
from bridge.devstack.mailcatcher import MailCatcher, MailStore
from bridge.devstack.ports import LOOPBACK, free_port
from bridge.devstack.realm import keycloak_theme
from bridge.devstack.servers import UvicornThread
from bridge.keycloak_admin import KeycloakDirectory
from bridge.relying_party.app import create_app as create_relying_party
from bridge.settings import RelyingPartySettings, Settings
from bridge.sync.worker import install_catalog
from tests.support.keycloak import KeycloakTarget, session_keycloak

# Meets the realm's password policy (length 12, upper, lower, digit, special character).
PASSWORD = "Formation-Solide-2026!"
TEST_API_CLIENT = "tests-api"
# The realm's user profile requires these of every person, and the CGU action asks anyone
# whose accepted version differs: test accounts start complete, CGU version 1 accepted.
PROFESSIONAL_DETAILS = {
    "civilite": ["madame"],
    "telephone": ["01 23 45 67 89"],
    "siret": ["73282932000074"],
    "cguVersion": ["1"],
}


def add_test_api_client(admin: KeycloakAdmin) -> str:
    """A confidential client allowing the password grant, for API tests only; returns its secret."""
    internal_id = admin.create_client(
        {
            "clientId": TEST_API_CLIENT,
            "enabled": True,
            "publicClient": False,
            "standardFlowEnabled": False,
            "directAccessGrantsEnabled": True,
            "fullScopeAllowed": True,
            "protocolMappers": [
                {
                    "name": "audience-bridge-api",
                    "protocol": "openid-connect",
                    "protocolMapper": "oidc-audience-mapper",
                    "config": {
                        "included.custom.audience": "bridge-api",
                        "access.token.claim": "true",
                        "introspection.token.claim": "true",
                    },
                }
            ],
        },
        skip_exists=True,
    )
    secret: str = admin.get_client_secrets(internal_id)["value"]
    return secret


@dataclass(frozen=True)
class Person:
    """A person created in Keycloak for one test."""

    id: str
    username: str
    email: str
    first_name: str
    last_name: str
    password: str

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass
class Platform:
    """Everything a test can talk to; one per test session."""

    keycloak: KeycloakTarget
    mail: MailStore
    smtp_port: int
    portal_url: str
    relying_party_url: str
    portal_settings: Settings
    relying_party_settings: RelyingPartySettings
    context: AppContext
    test_api_secret: str

    def admin(self) -> KeycloakAdmin:
        return self.keycloak.admin()

    def token_for(self, person: Person) -> str:
        """A real access token of the real Keycloak for `person`, audience `bridge-api`.

        Through the test-only client `tests-api` (direct grant), which the harness adds to
        the test realm; the product's own clients allow no password grant.
        """
        response = httpx.post(
            f"{self.keycloak.url}/realms/{self.keycloak.realm}/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": TEST_API_CLIENT,
                "client_secret": self.test_api_secret,
                "username": person.username,
                "password": person.password,
                "scope": "openid",
            },
            timeout=10,
        )
        if response.status_code != 200:
            raise AssertionError(
                f"jeton refusé par Keycloak : {response.status_code} {response.text}"
            )
        token: str = response.json()["access_token"]
        return token

    def new_person(self, first_name: str = "Amandine", last_name: str = "Munoz Ortega") -> Person:
        """A verified account with a unique e-mail, created through the admin API."""
        suffix = uuid.uuid4().hex[:10]
        ascii_name = unicodedata.normalize("NFKD", first_name).encode("ascii", "ignore").decode()
        email = f"{ascii_name.lower()}.{suffix}@exemple.fr"
        user_id = create_complete_account(self.admin(), email, first_name, last_name)
        return Person(user_id, email, email, first_name, last_name, PASSWORD)


def create_complete_account(
    admin: KeycloakAdmin, email: str, first_name: str, last_name: str
) -> str:
    """A verified account with the professional details and the CGU: no first-login step."""
    user_id: str = admin.create_user(
        {
            "username": email,
            "email": email,
            "firstName": first_name,
            "lastName": last_name,
            "enabled": True,
            "emailVerified": True,
            "attributes": PROFESSIONAL_DETAILS,
            "credentials": [{"type": "password", "value": PASSWORD, "temporary": False}],
        }
    )
    return user_id


def finish_first_login(admin: KeycloakAdmin, user_id: str) -> None:
    """What a bridge-made account's first login does (password changed, CGU accepted), by
    the admin API, for tests that need its token rather than that page."""
    admin.set_user_password(user_id, PASSWORD, temporary=False)
    user = admin.get_user(user_id)  # sent whole: Keycloak treats a missing field as removed
    user["requiredActions"] = []
    user["attributes"] = {**user.get("attributes", {}), "cguVersion": ["1"]}
    admin.update_user(user_id, user)


@contextmanager
def bridge_store(data_dir: Path, backend: str) -> Iterator[str]:
    """The bridge's store for the session, as production runs it where possible.

    With the container backend, a PostgreSQL 15 container (testcontainers); otherwise a
    SQLite file, or with `TEST_BRIDGE_STORE=postgresql` a PostgreSQL 15 server of its own
    (Debian's binaries).
    """
    if backend == "container":
        from tests.support.containers import postgres_container

        with postgres_container() as url:
            yield url
        return
    choice = os.environ.get("TEST_BRIDGE_STORE", "sqlite")
    if choice == "postgresql":
        from tests.support.postgres import running_postgres

        with running_postgres() as url:
            yield url
    elif choice == "sqlite":
        yield f"sqlite:///{data_dir / 'bridge.db'}"
    else:
        raise RuntimeError(f"TEST_BRIDGE_STORE={choice} : attendu sqlite ou postgresql.")


@contextmanager
def running_platform(data_dir: Path) -> Iterator[Platform]:
    smtp_port, portal_port, rp_port = free_port(), free_port(), free_port()
    portal_url = f"http://{LOOPBACK}:{portal_port}"
    rp_url = f"http://{LOOPBACK}:{rp_port}"
    catcher = MailCatcher(smtp_port)
    catcher.start()
    try:
        realm_env = {
            "REALM_PORTAL_URL": portal_url,
            "REALM_MAF_URL": rp_url,
            "REALM_PORTAL_INTERNAL_URL": portal_url,
            "REALM_MAF_INTERNAL_URL": rp_url,
            "REALM_SMTP_HOST": LOOPBACK,
            "REALM_SMTP_PORT": str(smtp_port),
            "REALM_THEME": keycloak_theme("dsfr"),
            # The theme's « Assistance technique », the portal's (from BRIDGE_ASSISTANCE_*).
            **Settings().assistance.keycloak_env(),
        }
        with (
            session_keycloak(realm_env, data_dir) as keycloak,
            bridge_store(data_dir, keycloak.backend) as database_url,
        ):
            test_api_secret = add_test_api_client(keycloak.admin())
            migrate(database_url)
            portal_settings = Settings(
                public_url=portal_url,
                keycloak_url=keycloak.url,
                keycloak_realm=keycloak.realm,
                demarche_urls={"mon-activite-formation": rp_url},
                database_url=database_url,
                smtp_port=smtp_port,
                jwks_refetch_seconds=1.0,  # the key-rotation test need not wait 30 s
                sync_interval_seconds=0.2,  # the projection tests wait for Keycloak to follow
                sync_console_interval_seconds=0.3,
                sync_reconcile_interval_seconds=0,  # the reconcile tests run it themselves
                session_recheck_seconds=2,  # every walk exercises the sessions' recheck
            )
            rp_settings = RelyingPartySettings(
                public_url=rp_url,
                keycloak_url=keycloak.url,
                keycloak_realm=keycloak.realm,
                portal_url=portal_url,
                bridge_url=portal_url,
            )
            # The deploy step, with the administrator's account the bridge never holds.
            install_catalog(
                KeycloakDirectory.with_admin_password(
                    keycloak.url, keycloak.realm, keycloak.admin_user, keycloak.admin_password
                ),
                load_catalog(portal_settings.catalog_file),
                portal_settings.sync_token_habilitations_max,
            )
            portal_app = create_app(portal_settings)
            servers = [
                UvicornThread(portal_app, portal_port, "portail", "-"),
                UvicornThread(create_relying_party(rp_settings), rp_port, "démarche", "-"),
            ]
            try:
                for server in servers:
                    server.start()
                yield Platform(
                    keycloak,
                    catcher.store,
                    smtp_port,
                    portal_url,
                    rp_url,
                    portal_settings,
                    rp_settings,
                    portal_app.state.context,
                    test_api_secret,
                )
            finally:
                for server in servers:
                    server.stop()
    finally:
        catcher.stop()

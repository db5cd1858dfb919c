"""The test session's platform: mail catcher, Keycloak, portal and démarche site on free ports."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from keycloak import KeycloakAdmin

from bridge.api.app import create_app
from bridge.devstack.mailcatcher import MailCatcher, MailStore
from bridge.devstack.ports import LOOPBACK, free_port
from bridge.devstack.servers import UvicornThread
from bridge.relying_party.app import create_app as create_relying_party
from bridge.settings import RelyingPartySettings, Settings
from tests.support.keycloak import KeycloakTarget, session_keycloak

# Meets the realm's password policy (length 12, upper, lower, digit, special character).
PASSWORD = "Formation-Solide-2026!"


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

    def admin(self) -> KeycloakAdmin:
        return self.keycloak.admin()

    def new_person(self, first_name: str = "Amandine", last_name: str = "Munoz Ortega") -> Person:
        """A verified account with a unique e-mail, created through the admin API."""
        suffix = uuid.uuid4().hex[:10]
        email = f"{first_name.lower()}.{suffix}@exemple.fr"
        user_id = self.admin().create_user(
            {
                "username": email,
                "email": email,
                "firstName": first_name,
                "lastName": last_name,
                "enabled": True,
                "emailVerified": True,
                "credentials": [{"type": "password", "value": PASSWORD, "temporary": False}],
            }
        )
        return Person(user_id, email, email, first_name, last_name, PASSWORD)


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
        }
        with session_keycloak(realm_env, data_dir) as keycloak:
            portal_settings = Settings(
                public_url=portal_url,
                keycloak_url=keycloak.url,
                keycloak_realm=keycloak.realm,
                demarche_urls={"mon-activite-formation": rp_url},
                session_secret=secrets.token_urlsafe(32),
            )
            rp_settings = RelyingPartySettings(
                public_url=rp_url,
                keycloak_url=keycloak.url,
                keycloak_realm=keycloak.realm,
                portal_url=portal_url,
                session_secret=secrets.token_urlsafe(32),
            )
            servers = [
                UvicornThread(create_app(portal_settings), portal_port, "portail", "-"),
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
                )
            finally:
                for server in servers:
                    server.stop()
    finally:
        catcher.stop()

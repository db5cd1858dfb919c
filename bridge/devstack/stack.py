"""The whole local stack: mail catcher, Keycloak, the portal and the démarche site.

`LocalStack` is used both by `demarches-stack run` and by the test harness, so what the
tests start is what a developer runs. Its state folder (Keycloak's database, the bridge's
store) is kept from one start to the next, as a deploy keeps it: Keycloak imports the realm
only when it does not exist yet, and the realm export is applied at every start
(`bridge/realm/`). `fresh` (`--neuf`, `DEVSTACK_FRESH=1`) starts from an empty folder.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from bridge.api.app import create_app
from bridge.bootstrap import AppContext
from bridge.catalog import load_catalog
from bridge.db import migrate
from bridge.devstack.errors import StackError
from bridge.devstack.keycloak_dist import ensure_distribution
from bridge.devstack.keycloak_server import KeycloakConfig, KeycloakServer
from bridge.devstack.mailcatcher import MailCatcher, web_app
from bridge.devstack.ports import LOOPBACK, ensure_port_free
from bridge.devstack.realm import REALM_NAME, keycloak_theme
from bridge.devstack.servers import UvicornThread
from bridge.keycloak_admin import KeycloakDirectory, RealmConfiguration
from bridge.realm.apply import HandEditsError, Plan, load
from bridge.realm.apply import apply as apply_realm
from bridge.realm.export import REALM_EXPORT_DIR
from bridge.relying_party.app import create_app as create_relying_party
from bridge.settings import REPO_ROOT, RelyingPartySettings, Settings
from bridge.sync.worker import install_catalog

CACHE_DIR = Path(os.environ.get("DEVSTACK_CACHE_DIR") or REPO_ROOT / ".cache").resolve()


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    if not value.isdigit():
        raise StackError(f"{name} doit être un numéro de port (reçu « {value} »).")
    return int(value)


@dataclass
class StackPorts:
    """Every loopback port of the stack, each overridable by a `DEVSTACK_*` variable."""

    keycloak: int = 8080
    keycloak_management: int = 9000
    portal: int = 8000
    relying_party: int = 8001
    smtp: int = 1025
    mail_web: int = 8025

    @classmethod
    def from_env(cls) -> StackPorts:
        return cls(
            keycloak=_env_int("DEVSTACK_KEYCLOAK_PORT", 8080),
            keycloak_management=_env_int("DEVSTACK_KEYCLOAK_MANAGEMENT_PORT", 9000),
            portal=_env_int("DEVSTACK_PORTAL_PORT", 8000),
            relying_party=_env_int("DEVSTACK_RP_PORT", 8001),
            smtp=_env_int("DEVSTACK_SMTP_PORT", 1025),
            mail_web=_env_int("DEVSTACK_MAIL_WEB_PORT", 8025),
        )


@dataclass
class LocalStack:
    """Start order: mail catcher, Keycloak (realm imported), then the two web apps."""

    ports: StackPorts
    data_dir: Path
    admin_user: str = field(
        default_factory=lambda: os.environ.get("KC_BOOTSTRAP_ADMIN_USERNAME", "admin")
    )
    admin_password: str = field(
        default_factory=lambda: os.environ.get("KC_BOOTSTRAP_ADMIN_PASSWORD", "admin")
    )
    ready_timeout: float = field(
        default_factory=lambda: float(os.environ.get("DEVSTACK_KEYCLOAK_TIMEOUT", "180"))
    )
    with_mail_web: bool = True
    theme: str = field(default_factory=lambda: os.environ.get("BRIDGE_THEME", "dsfr"))
    # Start from an empty state folder (no account, no right) rather than the last one.
    fresh: bool = field(default_factory=lambda: os.environ.get("DEVSTACK_FRESH") == "1")
    # The realm export imported (new realm) and applied (every start): another folder may
    # be named, e.g. to try a change of the realm.
    realm_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("DEVSTACK_REALM_DIR") or REALM_EXPORT_DIR)
    )
    # Overwrite what was changed by hand in the console since the last start.
    force_realm: bool = False

    def __post_init__(self) -> None:
        self.mail = MailCatcher(self.ports.smtp)
        self.keycloak: KeycloakServer | None = None
        self._web: list[UvicornThread] = []
        self.context: AppContext | None = None
        self.realm_changes: Plan | None = None

    @property
    def keycloak_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ports.keycloak}"

    @property
    def portal_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ports.portal}"

    @property
    def relying_party_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ports.relying_party}"

    @property
    def mail_web_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ports.mail_web}"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.data_dir / 'bridge.db'}"

    def portal_settings(self) -> Settings:
        return Settings(
            public_url=self.portal_url,
            keycloak_url=self.keycloak_url,
            demarche_urls={"mon-activite-formation": self.relying_party_url},
            database_url=self.database_url,
            smtp_port=self.ports.smtp,
            theme=self.theme,
        )

    def relying_party_settings(self) -> RelyingPartySettings:
        return RelyingPartySettings(
            public_url=self.relying_party_url,
            keycloak_url=self.keycloak_url,
            portal_url=self.portal_url,
            bridge_url=self.portal_url,
            theme=self.theme,
        )

    def start(self, *, progress: bool = True) -> None:
        """Start everything; on any failure, stop what was started and re-raise."""
        self.check_ports_free()
        try:
            home = ensure_distribution(CACHE_DIR, progress=progress)
            portal_settings = self.portal_settings()
            rp_settings = self.relying_party_settings()
            self.mail.start()
            if self.fresh and self.data_dir.exists():
                shutil.rmtree(self.data_dir)
            realm_env = {
                "REALM_PORTAL_URL": self.portal_url,
                "REALM_MAF_URL": self.relying_party_url,
                "REALM_PORTAL_INTERNAL_URL": self.portal_url,
                "REALM_MAF_INTERNAL_URL": self.relying_party_url,
                "REALM_SMTP_HOST": LOOPBACK,
                "REALM_SMTP_PORT": str(self.ports.smtp),
                "REALM_THEME": keycloak_theme(self.theme),
                **portal_settings.assistance.keycloak_env(),
            }
            self.keycloak = KeycloakServer(
                KeycloakConfig(
                    home=home,
                    data_dir=self.data_dir,
                    http_port=self.ports.keycloak,
                    management_port=self.ports.keycloak_management,
                    admin_user=self.admin_user,
                    admin_password=self.admin_password,
                    ready_timeout=self.ready_timeout,
                    realm_env=realm_env,
                    realm_dir=self.realm_dir,
                )
            )
            self.keycloak.start()
            self.realm_changes = self.apply_realm(realm_env)
            migrate(self.database_url)
            install_catalog(  # the deploy step, with the administrator's account
                KeycloakDirectory.with_admin_password(
                    self.keycloak_url, "demarches", self.admin_user, self.admin_password
                ),
                load_catalog(portal_settings.catalog_file),
                portal_settings.sync_token_habilitations_max,
            )
            portal_app = create_app(portal_settings)
            self.context = portal_app.state.context
            web = [
                UvicornThread(
                    portal_app,
                    self.ports.portal,
                    "portail",
                    "DEVSTACK_PORTAL_PORT",
                ),
                UvicornThread(
                    create_relying_party(rp_settings),
                    self.ports.relying_party,
                    "démarche Mon Activité Formation",
                    "DEVSTACK_RP_PORT",
                ),
            ]
            if self.with_mail_web:
                web.append(
                    UvicornThread(
                        web_app(self.mail.store),
                        self.ports.mail_web,
                        "boîte de réception",
                        "DEVSTACK_MAIL_WEB_PORT",
                    )
                )
            for server in web:
                server.start()
                self._web.append(server)
        except BaseException:
            self.stop()
            raise

    def apply_realm(self, realm_env: dict[str, str]) -> Plan:
        """The deploy step on the local realm: the export's placeholders resolved as
        Keycloak's import resolved them (its environment and `realm_env`)."""
        realm = RealmConfiguration.with_admin_password(
            self.keycloak_url, REALM_NAME, self.admin_user, self.admin_password
        )
        managed = load(self.realm_dir, {**os.environ, **realm_env}, REALM_NAME)
        try:
            return apply_realm(realm, managed, force=self.force_realm)
        except HandEditsError as exc:
            raise StackError(
                f"{exc}\nPlateforme locale : « --forcer » les écrase, « --neuf » repart de zéro."
            ) from exc

    def check_ports_free(self) -> None:
        """Refuse a taken port before starting anything, rather than half-way through."""
        wanted = [
            (self.ports.smtp, "serveur SMTP de test", "DEVSTACK_SMTP_PORT"),
            (self.ports.keycloak, "Keycloak HTTP", "DEVSTACK_KEYCLOAK_PORT"),
            (
                self.ports.keycloak_management,
                "Keycloak gestion",
                "DEVSTACK_KEYCLOAK_MANAGEMENT_PORT",
            ),
            (self.ports.portal, "portail", "DEVSTACK_PORTAL_PORT"),
            (self.ports.relying_party, "démarche Mon Activité Formation", "DEVSTACK_RP_PORT"),
        ]
        if self.with_mail_web:
            wanted.append((self.ports.mail_web, "boîte de réception", "DEVSTACK_MAIL_WEB_PORT"))
        for port, what, env_var in wanted:
            ensure_port_free(port, what, env_var)

    def stop(self) -> None:
        """Stop in reverse order; safe to call twice."""
        for server in reversed(self._web):
            server.stop()
        self._web.clear()
        if self.keycloak is not None:
            self.keycloak.stop()
        self.mail.stop()

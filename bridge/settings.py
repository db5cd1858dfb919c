"""Settings of the bridge, read once from `BRIDGE_*` environment variables and validated at start.

Development defaults work out of the box on loopback; in production every default secret
is refused so that a forgotten variable stops the start instead of weakening it.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal, NamedTuple

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

REPO_ROOT = Path(__file__).resolve().parents[1]
DEV_SECRET_MARKER = "a-changer"  # noqa: S105 - the marker of development secrets


class Assistance(NamedTuple):
    """The « Assistance technique » people are told to call or write to: when, where."""

    horaires: str
    telephone: str
    courriel: str

    def keycloak_env(self) -> dict[str, str]:
        """The same values for Keycloak's login theme (`${env.REALM_ASSISTANCE_*}` in its
        theme.properties, whose defaults are this class's)."""
        return {
            "REALM_ASSISTANCE_HORAIRES": self.horaires,
            "REALM_ASSISTANCE_TELEPHONE": self.telephone,
            "REALM_ASSISTANCE_COURRIEL": self.courriel,
        }


class OidcClientSettings(BaseSettings):
    """What an app needs to log people in through Keycloak as one OIDC client."""

    model_config = SettingsConfigDict(extra="ignore")

    environment: Literal["development", "production"] = "development"
    public_url: str
    keycloak_url: str = "http://127.0.0.1:8080"
    # Address the server uses to reach Keycloak when it differs from the browser's (containers).
    keycloak_internal_url: str | None = None
    keycloak_realm: str = "demarches"
    client_id: str
    client_secret: SecretStr
    session_cookie: str
    # How often a browser session asks Keycloak again whether the person may stay logged in
    # and what their roles are (the session's refresh token).
    session_recheck_seconds: float = Field(default=300.0, ge=0)
    # A browser session ends this long after its last change (a login, a recheck).
    session_lifetime_seconds: int = Field(default=36_000, gt=0)
    # No request body longer than this reaches the app (bridge/api/body_limit.py): the
    # back-office's CSV import (10 Mo) and its form fit; nginx's client_max_body_size agrees.
    max_body_bytes: int = Field(default=11 * 1024 * 1024, gt=0)
    theme: Literal["dsfr", "neutre"] = "dsfr"
    dsfr_dist: Path = REPO_ROOT / "node_modules" / "@gouvfr" / "dsfr" / "dist"
    log_level: str = "INFO"

    @property
    def issuer(self) -> str:
        """The `iss` of the realm's tokens, as browsers see Keycloak."""
        return f"{self.keycloak_url.rstrip('/')}/realms/{self.keycloak_realm}"

    @property
    def discovery_url(self) -> str:
        base = (self.keycloak_internal_url or self.keycloak_url).rstrip("/")
        return f"{base}/realms/{self.keycloak_realm}/.well-known/openid-configuration"

    @cached_property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> OidcClientSettings:
        if self.environment != "production":
            return self
        problems = []
        for name in ("client_secret",):
            value = getattr(self, name).get_secret_value()
            if DEV_SECRET_MARKER in value or len(value) < 32:
                problems.append(f"{name} (au moins 32 caractères, pas la valeur de développement)")
        if not self.public_url.startswith("https://"):
            problems.append("public_url (doit commencer par https://)")
        if problems:
            raise ValueError("réglages refusés en production : " + ", ".join(problems))
        return self


class Settings(OidcClientSettings):
    """The bridge portal (`BRIDGE_*`)."""

    model_config = SettingsConfigDict(env_prefix="BRIDGE_", extra="ignore")

    public_url: str = "http://127.0.0.1:8000"
    client_id: str = "portail"
    client_secret: SecretStr = SecretStr("dev-portail-secret-a-changer")
    session_cookie: str = "portail_session"
    # Where the portal sends people for each démarche that has its own site.
    demarche_urls: dict[str, str] = {"mon-activite-formation": "http://127.0.0.1:8001"}
    database_url: str = f"sqlite:///{REPO_ROOT / '.cache' / 'bridge.db'}"
    # Connections kept open per pool (the process has two: changes, and the API's reads
    # without a transaction). Beyond it, extra ones are opened and closed per use.
    db_pool_size: int = Field(default=10, ge=1, le=100)
    catalog_file: Path = REPO_ROOT / "bridge" / "catalog" / "catalog.yaml"
    # Key of the activation codes' HMAC: without it, the database alone reveals no code.
    code_pepper: SecretStr = SecretStr("dev-poivre-des-codes-a-changer")
    code_validity_days: int = 365
    # A new activation link asked from « Recevoir un nouveau lien » works this long; keep it
    # equal to the realm's REALM_DUREE_LIEN_ACTIVATION (the first link, sent at registration).
    activation_link_seconds: int = Field(default=86400, ge=60)
    # How many times an hour one network address may use that page (each use asks Keycloak).
    activation_link_asks_per_hour: int = Field(default=20, ge=1)
    # The store's copy of a deleted person (name, e-mail, phones) is pseudonymised this many
    # days after the deletion (README, « The account, in Keycloak », « Mes données
    # personnelles », for the legal ground).
    deleted_person_retention_days: int = Field(default=90, ge=0)
    # A delegation's invitation link works this long (the gestionnaire may resend it).
    invitation_validity_days: int = 7
    # Both sides are e-mailed this many days before a delegation ends.
    delegation_warning_days: int = 15
    # How often the portal runs the delegations' end-date job (0: never, e.g. when cron does).
    delegation_job_interval_seconds: int = 300
    # Audience the bridge's JSON API requires in bearer tokens (a Keycloak audience mapper).
    api_audience: str = "bridge-api"
    # Keycloak's signing keys are refetched on an unknown key id (a rotation), at most this often.
    jwks_refetch_seconds: float = Field(default=30.0, gt=0)
    # Audience of the démarches' own tokens (client credentials) for the verification API.
    verification_audience: str = "bridge-verifications"
    # The projection onto Keycloak (bridge/sync): the bridge's service account, and how often
    # this process applies the outbox, reads the console's edits, and reconciles (0: never,
    # e.g. when `python -m bridge sync …` runs elsewhere).
    sync_client_id: str = "bridge"
    sync_client_secret: SecretStr = SecretStr("dev-bridge-secret-a-changer")
    # The deploy steps only (`python -m bridge keycloak catalogue` and `keycloak appliquer`):
    # a Keycloak administrator of the master realm that may create the démarches' clients,
    # roles and groups and change the realm. The always-on bridge never reads them.
    keycloak_admin_user: str | None = None
    keycloak_admin_password: SecretStr | None = None
    # Keycloak's own PostgreSQL database, for `python -m bridge exploitation sauvegarde` and
    # `restauration` only (postgresql://user:password@host:port/name); never read otherwise.
    keycloak_database_url: SecretStr | None = None
    # The realm that `python -m bridge keycloak appliquer` brings the live realm to; its
    # `${REALM_*}` placeholders are resolved from the environment, as Keycloak's import does.
    realm_export_dir: Path = REPO_ROOT / "keycloak" / "realm-export"
    sync_interval_seconds: float = Field(default=1.0, ge=0)
    sync_console_interval_seconds: float = Field(default=5.0, ge=0)
    sync_reconcile_interval_seconds: float = Field(default=3600.0, ge=0)
    # A worker that dies keeps its people claimed this long before another takes them.
    sync_claim_lease_seconds: float = Field(default=120.0, gt=0)
    # At most this many habilitations in a token of the optional client scope `habilitations`.
    sync_token_habilitations_max: int = Field(default=20, ge=0, le=500)
    # Bearer token Prometheus sends to read /metrics (a scrape config's `authorization`).
    metrics_token: SecretStr = SecretStr("dev-jeton-des-mesures-a-changer")
    # Peers whose X-Forwarded-For is believed (addresses, networks, host names; comma
    # separated). Empty: the TCP peer is the client, whatever headers it sends.
    trusted_proxies: str = ""
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_from: str = "ne-pas-repondre@mesdemarches.localhost"
    # How often this process sends the e-mails the queue still holds (0: never, e.g. when
    # `python -m bridge courriels envoyer --continu` runs elsewhere).
    mail_interval_seconds: float = Field(default=5.0, ge=0)
    # How often this process looks for back-office imports left unfinished (by a restart);
    # a new import starts at once. 0: never (the imports from the page then wait).
    import_interval_seconds: float = Field(default=5.0, ge=0)
    # One SMTP send ends by then whatever the server does (smtplib's timeout bounds each
    # socket operation only); one that overran is a failed attempt, retried later.
    mail_send_deadline_seconds: float = Field(default=30.0, gt=0)
    # An e-mail claimed by a process that died while sending is free again after this; at
    # least twice the send's deadline, so that a send still under way keeps its claim.
    mail_claim_lease_seconds: float = Field(default=120.0, gt=0)
    # « Assistance technique » on the portal's footer and error pages, and on Keycloak's
    # pages (given to Keycloak as REALM_ASSISTANCE_*: keep both sides equal). The defaults
    # are the example operator's (a phone number reserved for fiction).
    assistance_horaires: str = Field(default="du lundi au vendredi de 9 h à 17 h", min_length=1)
    assistance_telephone: str = Field(default="01 99 00 12 34", min_length=1)
    assistance_courriel: str = Field(default="assistance@demarches.example.gouv.fr", min_length=3)

    @property
    def assistance(self) -> Assistance:
        return Assistance(
            self.assistance_horaires, self.assistance_telephone, self.assistance_courriel
        )

    @model_validator(mode="after")
    def _refuse_sqlite_in_memory(self) -> Settings:
        """The bridge opens two pools on its store (changes, and the API's reads): in memory,
        each would get a database of its own, and the reads would see nothing written."""
        try:
            url = make_url(self.database_url)
        except ArgumentError as exc:
            raise ValueError(
                "réglages refusés : BRIDGE_DATABASE_URL n'est pas une adresse de base de données "
                "(sqlite:///chemin/bridge.db ou postgresql+psycopg://…)"
            ) from exc
        modes = url.query.get("mode", ())
        path = (url.database or "").removeprefix("file:").split("?", 1)[0]
        in_memory = path in ("", ":memory:") or "memory" in (
            (modes,) if isinstance(modes, str) else modes
        )
        if url.get_backend_name() == "sqlite" and in_memory:
            raise ValueError(
                "réglages refusés : BRIDGE_DATABASE_URL désigne une base SQLite en mémoire ; "
                "le bridge en ouvrirait deux distinctes (écritures et lectures) : donnez un "
                "fichier (sqlite:///chemin/bridge.db) ou une base PostgreSQL"
            )
        return self

    @model_validator(mode="after")
    def _lease_outlasts_a_send(self) -> Settings:
        if self.mail_claim_lease_seconds < 2 * self.mail_send_deadline_seconds:
            raise ValueError(
                "réglages refusés : BRIDGE_MAIL_CLAIM_LEASE_SECONDS "
                f"({self.mail_claim_lease_seconds:g}) doit valoir au moins deux fois "
                f"BRIDGE_MAIL_SEND_DEADLINE_SECONDS ({self.mail_send_deadline_seconds:g})"
            )
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_pepper(self) -> Settings:
        if self.environment == "production":
            for name in ("code_pepper", "sync_client_secret", "metrics_token"):
                value = getattr(self, name).get_secret_value()
                if DEV_SECRET_MARKER in value or len(value) < 32:
                    raise ValueError(
                        f"réglages refusés en production : {name} (au moins 32 caractères, "
                        "pas la valeur de développement)"
                    )
        return self


class RelyingPartySettings(OidcClientSettings):
    """The example démarche site « Mon Activité Formation » (`BRIDGE_RP_*`)."""

    model_config = SettingsConfigDict(env_prefix="BRIDGE_RP_", extra="ignore")

    public_url: str = "http://127.0.0.1:8001"
    client_id: str = "mon-activite-formation"
    client_secret: SecretStr = SecretStr("dev-maf-secret-a-changer")
    session_cookie: str = "maf_session"
    portal_url: str = "http://127.0.0.1:8000"
    # Where the site reaches the bridge's AuthZEN endpoints (server to server); the PDP's
    # identifier in its metadata is `portal_url`, the bridge's public address.
    bridge_url: str = "http://127.0.0.1:8000"

"""Settings refuse unsafe defaults in production and accept them in development."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bridge.settings import RelyingPartySettings, Settings

STRONG = "x" * 40


def test_development_defaults_work_out_of_the_box() -> None:
    settings = Settings()
    assert settings.issuer == "http://127.0.0.1:8080/realms/demarches"
    assert settings.secure_cookies is False


def test_production_refuses_the_development_secrets() -> None:
    with pytest.raises(ValidationError, match=r"client_secret"):
        Settings(environment="production", public_url="https://portail.example.gouv.fr")


def test_production_refuses_plain_http() -> None:
    with pytest.raises(ValidationError, match="public_url"):
        Settings(
            environment="production",
            public_url="http://portail",
            client_secret=STRONG,
        )


def test_production_accepts_real_secrets_over_https() -> None:
    settings = Settings(
        environment="production",
        public_url="https://portail.example.gouv.fr",
        client_secret=STRONG,
        metrics_token=STRONG,
        code_pepper=STRONG,
        sync_client_secret=STRONG,
    )
    assert settings.secure_cookies is True


def test_production_refuses_the_development_code_pepper() -> None:
    with pytest.raises(ValidationError, match="code_pepper"):
        Settings(
            environment="production",
            public_url="https://portail.example.gouv.fr",
            client_secret=STRONG,
        )


def test_production_refuses_the_development_secret_of_the_bridge_service_account() -> None:
    with pytest.raises(ValidationError, match="sync_client_secret"):
        Settings(
            environment="production",
            public_url="https://portail.example.gouv.fr",
            client_secret=STRONG,
            code_pepper=STRONG,
        )


def test_settings_are_read_from_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_KEYCLOAK_REALM", "autre")
    monkeypatch.setenv("BRIDGE_RP_CLIENT_ID", "mes-collectes-formation")
    monkeypatch.setenv("BRIDGE_KEYCLOAK_INTERNAL_URL", "http://keycloak:8080")
    assert Settings().keycloak_realm == "autre"
    assert Settings().discovery_url == (
        "http://keycloak:8080/realms/autre/.well-known/openid-configuration"
    )
    assert RelyingPartySettings().client_id == "mes-collectes-formation"


def test_the_mail_lease_must_outlast_two_send_deadlines() -> None:
    """A claim shorter than a send lets another process send the same e-mail again."""
    with pytest.raises(ValidationError, match="BRIDGE_MAIL_CLAIM_LEASE_SECONDS"):
        Settings(mail_send_deadline_seconds=30, mail_claim_lease_seconds=59)
    assert Settings(mail_send_deadline_seconds=3, mail_claim_lease_seconds=6)
    defaults = Settings()
    assert defaults.mail_claim_lease_seconds >= 2 * defaults.mail_send_deadline_seconds


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite+pysqlite://",
        "sqlite:///f?mode=memory",
        "sqlite:///file::memory:?uri=true",
        "sqlite:///file:x?mode=ro&mode=memory&uri=true",
    ],
)
def test_an_sqlite_store_in_memory_is_refused(url: str) -> None:
    """Two pools (changes, and the API's reads) would each get a database of their own."""
    with pytest.raises(ValidationError, match="SQLite en mémoire"):
        Settings(database_url=url)


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////var/lib/bridge/bridge.db",
        "sqlite+pysqlite:///bridge.db",
        "sqlite:///file:bridge.db?mode=ro&uri=true",
        "postgresql+psycopg://bridge:secret@db:5432/bridge?sslmode=require",
    ],
)
def test_files_and_servers_are_accepted(url: str) -> None:
    assert Settings(database_url=url).database_url == url


def test_a_database_url_that_is_not_one_is_refused_in_french() -> None:
    with pytest.raises(ValidationError, match="n'est pas une adresse de base de données"):
        Settings(database_url="pas une adresse")

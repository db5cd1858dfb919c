"""Backup and restore of both databases with a real Keycloak on PostgreSQL, as in production.

The session's Keycloak keeps its database in a development H2 file, which the backup does
not cover: this test starts a Keycloak of its own (our realm and providers, a private copy
of the distribution) on a throw-away PostgreSQL 15 server that also holds the bridge's store,
like the compose stack. Accounts and habilitations, projected; a backup with the command
line; then a new account with a right, a right revoked; Keycloak and the bridge stopped, the
restore; Keycloak started again: the reconcile reports no drift, and the logins and the
rights are those of the backup. 172 s measured with the machine's load at 11 (two Keycloak
starts on PostgreSQL); the first run on a machine also builds the cached PostgreSQL copy of
the distribution (about 100 s more).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from bridge.audit.service import Actor
from bridge.bootstrap import AppContext, bootstrapped, make_projector
from bridge.catalog import load_catalog
from bridge.cli import main
from bridge.db import migrate
from bridge.keycloak_admin import KeycloakDirectory
from bridge.person.service import remember_person
from bridge.settings import Settings
from bridge.sync.loop import ProjectionLoop
from bridge.sync.worker import install_catalog
from tests.support.keycloak import KeycloakTarget, keycloak_on_postgres
from tests.support.postgres import running_postgres
from tests.support.projection import values_of
from tests.support.seed import etablissement_with_code
from tests.support.stack import (
    PASSWORD,
    TEST_API_CLIENT,
    add_test_api_client,
    create_complete_account,
)

MAF = "mon-activite-formation"


def _database(server: str, name: str) -> str:
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.rsplit("/", 1)[0] + f"/{name}"


def _cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, str]:
    """`python -m bridge …` in-process (the environment set by the test): code and output."""
    capsys.readouterr()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        code = main(list(argv))
    finally:  # the CLI configures logging for its run only
        root.handlers[:] = handlers
        root.setLevel(level)
    return code, capsys.readouterr().out


def _logs_in(target: KeycloakTarget, secret: str, email: str) -> bool:
    answer = httpx.post(
        f"{target.url}/realms/{target.realm}/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": TEST_API_CLIENT,
            "client_secret": secret,
            "username": email,
            "password": PASSWORD,
            "scope": "openid",
        },
        timeout=10,
    )
    return answer.status_code == 200


def _project(context: AppContext) -> None:
    projector = make_projector(context)
    projector.load_catalog()
    loop = ProjectionLoop(context.work, projector, context.settings.sync_client_id, 0.1)
    loop.run(until_empty=True)


def _person(context: AppContext, target: KeycloakTarget, email: str, first: str) -> Actor:
    subject = create_complete_account(target.admin(), email, first, "Restauration")
    with context.work() as work:
        remember_person(work.session, subject, email, first, "Restauration")
    return Actor(subject, f"{first} Restauration")


@pytest.fixture
def postgres() -> Iterator[str]:
    with running_postgres() as server:
        yield server


def test_a_restore_brings_back_both_databases_as_at_the_backup(
    postgres: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    keycloak_db, store_db = _database(postgres, "keycloak"), _database(postgres, "pont")
    server = keycloak_on_postgres(tmp_path, keycloak_db)
    config = server.config
    target = KeycloakTarget("local", config.base_url, "admin", config.admin_password, "demarches")
    settings = Settings(
        keycloak_url=config.base_url,
        database_url=store_db,
        keycloak_database_url=keycloak_db,
        sync_reconcile_interval_seconds=0,
    )
    for name, value in {
        "BRIDGE_DATABASE_URL": store_db,
        "BRIDGE_KEYCLOAK_DATABASE_URL": keycloak_db,
        "BRIDGE_KEYCLOAK_URL": config.base_url,
    }.items():
        monkeypatch.setenv(name, value)
    migrate(store_db)
    backup = tmp_path / "sauvegarde"
    try:
        server.start()
        secret = add_test_api_client(target.admin())
        install_catalog(
            KeycloakDirectory.with_admin_password(
                target.url, target.realm, target.admin_user, target.admin_password
            ),
            load_catalog(settings.catalog_file),
            settings.sync_token_habilitations_max,
        )
        with bootstrapped(settings) as context:
            gestionnaire = _person(context, target, "gestionnaire.sauvegarde@exemple.fr", "Élise")
            declarant = _person(context, target, "declarant.sauvegarde@exemple.fr", "Marc")
            siret, code = etablissement_with_code(context)
            with context.work(notify=False) as work:
                work.habilitations.activate(gestionnaire, MAF, siret, code)
                kept = work.habilitations.grant(
                    gestionnaire, MAF, declarant.subject, "declarant", siret
                ).id
            _project(context)
        admin = target.admin()
        at_backup = {
            who.subject: values_of(admin, who.subject) for who in (gestionnaire, declarant)
        }
        assert at_backup[declarant.subject] == {f"{MAF}:declarant:{siret}"}

        code_, said = _cli(monkeypatch, capsys, "exploitation", "sauvegarde", str(backup))
        assert code_ == 0
        assert "Sauvegarde faite" in said

        with bootstrapped(settings) as context:
            newcomer = _person(context, target, "nouveau.apres@exemple.fr", "Noé")
            with context.work(notify=False) as work:
                work.habilitations.remove(gestionnaire, MAF, kept)
                work.habilitations.grant(gestionnaire, MAF, newcomer.subject, "declarant", siret)
            _project(context)
        assert values_of(admin, declarant.subject) == set()
        assert _logs_in(target, secret, "nouveau.apres@exemple.fr")

        code_, said = _cli(monkeypatch, capsys, "exploitation", "restauration", str(backup))
        assert code_ == 2  # Keycloak still runs: refused, nothing touched
        assert _logs_in(target, secret, "nouveau.apres@exemple.fr")

        server.stop()
        code_, said = _cli(monkeypatch, capsys, "exploitation", "restauration", str(backup))
        assert code_ == 0
        assert "Restauration faite" in said
        assert "dans la base de Keycloak « postgresql" in said  # the targets, said first
        server.start()

        code_, said = _cli(monkeypatch, capsys, "sync", "rapprocher")
        assert "Écarts : 0 personne(s)" in said
        assert code_ == 0
        assert _logs_in(target, secret, "gestionnaire.sauvegarde@exemple.fr")
        assert _logs_in(target, secret, "declarant.sauvegarde@exemple.fr")
        assert not _logs_in(target, secret, "nouveau.apres@exemple.fr")
        admin = target.admin()
        assert {who: values_of(admin, who) for who in at_backup} == at_backup
        with bootstrapped(settings) as context, context.work() as work:
            assert work.habilitations.may_act(declarant.subject, MAF, "declarant", siret)
            assert not work.habilitations.may_act(newcomer.subject, MAF, "declarant", siret)
    finally:
        server.stop()

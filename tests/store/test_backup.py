"""Backup and restore of the store (SQLite and PostgreSQL) with a PostgreSQL database beside it
standing for Keycloak's: the round trip, and every refusal leaving both databases untouched.

The same with a real Keycloak on PostgreSQL (logins, rights, reconcile):
tests/integration/test_backup_restore.py.
"""

from __future__ import annotations

import json
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, select, text
from sqlalchemy.orm import Session, sessionmaker

from bridge.backup import (
    KEYCLOAK_DUMP,
    MANIFEST,
    BackupError,
    _tool,
    back_up,
    read_manifest,
    restore,
)
from bridge.db import head_revision, migrate
from bridge.etablissement.models import Etablissement


@pytest.fixture
def keycloak_database(postgres_server: str) -> Iterator[str]:
    """A PostgreSQL database with a table and a row, where Keycloak's would be."""
    name = f"keycloak_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = postgres_server.rsplit("/", 1)[0] + f"/{name}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE user_entity (id text PRIMARY KEY, email text)"))
        connection.execute(text("INSERT INTO user_entity VALUES ('u1', 'avant@exemple.fr')"))
        connection.execute(
            text("CREATE TABLE migration_model (id text, version text, update_time bigint)")
        )
        connection.execute(text("INSERT INTO migration_model VALUES ('m1', '26.7.3', 1)"))
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def _bridge_stopped(sessions: sessionmaker[Session]) -> None:
    """The store's pooled connections closed, as when the bridge is stopped for a restore."""
    sessions.kw["bind"].dispose()


def _names(sessions: sessionmaker[Session]) -> set[str]:
    with sessions() as session:
        return set(session.scalars(select(Etablissement.name)))


def _add(sessions: sessionmaker[Session], siret: str, name: str) -> None:
    with sessions.begin() as session:
        session.add(Etablissement(siret=siret, siren=siret[:9], name=name))


def _emails(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return set(connection.execute(text("SELECT email FROM user_entity")).scalars())
    finally:
        engine.dispose()


def _add_user(url: str, email: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO user_entity VALUES (:id, :email)"), {"id": email, "email": email}
        )
    engine.dispose()


@pytest.fixture
def backed_up(
    sessions: sessionmaker[Session], database_url: str, keycloak_database: str, tmp_path: Path
) -> Path:
    """A backup of one establishment and one account, then one more of each."""
    _add(sessions, "73282932000074", "Avant la sauvegarde")
    folder = tmp_path / "sauvegarde"
    back_up(database_url, keycloak_database, folder)
    _add(sessions, "35600000000048", "Après la sauvegarde")
    _add_user(keycloak_database, "apres@exemple.fr")
    return folder


def test_a_restore_puts_both_databases_back_as_at_the_backup(
    sessions: sessionmaker[Session], database_url: str, keycloak_database: str, backed_up: Path
) -> None:
    manifest = read_manifest(backed_up)
    assert manifest["revision_alembic"] == head_revision()
    assert manifest["pont"]["moteur"] == database_url.split(":")[0].split("+")[0]

    _bridge_stopped(sessions)
    restore(database_url, keycloak_database, backed_up)

    assert _names(sessions) == {"Avant la sauvegarde"}
    assert _emails(keycloak_database) == {"avant@exemple.fr"}


def _refused(
    sessions: sessionmaker[Session], database_url: str, keycloak_database: str, folder: Path
) -> str:
    """The refusal's sentence, both databases checked untouched."""
    _bridge_stopped(sessions)
    with pytest.raises(BackupError) as refusal:
        restore(database_url, keycloak_database, folder)
    assert _names(sessions) == {"Avant la sauvegarde", "Après la sauvegarde"}
    assert _emails(keycloak_database) == {"avant@exemple.fr", "apres@exemple.fr"}
    return str(refusal.value)


def test_a_changed_file_is_refused(
    sessions: sessionmaker[Session], database_url: str, keycloak_database: str, backed_up: Path
) -> None:
    dump = backed_up / "keycloak.dump"
    dump.write_bytes(dump.read_bytes() + b"\0")

    said = _refused(sessions, database_url, keycloak_database, backed_up)

    assert "keycloak.dump ne correspond pas au manifeste" in said


def test_a_missing_file_is_refused(
    sessions: sessionmaker[Session], database_url: str, keycloak_database: str, backed_up: Path
) -> None:
    manifest = json.loads((backed_up / MANIFEST).read_text())
    (backed_up / manifest["pont"]["fichier"]).unlink()

    said = _refused(sessions, database_url, keycloak_database, backed_up)

    assert "La sauvegarde est incomplète" in said


def test_a_backup_of_another_alembic_revision_is_refused(
    sessions: sessionmaker[Session], database_url: str, keycloak_database: str, backed_up: Path
) -> None:
    manifest = json.loads((backed_up / MANIFEST).read_text())
    manifest["revision_alembic"] = "0010"
    (backed_up / MANIFEST).write_text(json.dumps(manifest))

    said = _refused(sessions, database_url, keycloak_database, backed_up)

    assert "La sauvegarde est à la révision 0010" in said
    assert f"attend la révision {head_revision()}" in said


def test_a_keycloak_still_connected_to_its_database_is_refused(
    sessions: sessionmaker[Session], database_url: str, keycloak_database: str, backed_up: Path
) -> None:
    engine = create_engine(keycloak_database)
    try:
        with engine.connect():
            said = _refused(sessions, database_url, keycloak_database, backed_up)
    finally:
        engine.dispose()

    assert "ouvertes sur la base de Keycloak : arrêtez Keycloak" in said


def test_a_backup_never_overwrites_a_folder_nor_runs_without_keycloak(
    database_url: str, keycloak_database: str, backed_up: Path, tmp_path: Path
) -> None:
    with pytest.raises(BackupError, match="n'est pas vide"):
        back_up(database_url, keycloak_database, backed_up)
    with pytest.raises(BackupError, match="BRIDGE_KEYCLOAK_DATABASE_URL"):
        back_up(database_url, None, tmp_path / "autre")
    with pytest.raises(BackupError, match="doit être une base PostgreSQL"):
        back_up(database_url, "sqlite:///keycloak.db", tmp_path / "autre")


def test_a_bridge_still_connected_to_a_postgresql_store_is_refused(
    sessions: sessionmaker[Session], database_url: str, keycloak_database: str, backed_up: Path
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip(
            "SQLite does not tell who has the file open: the README says to stop the bridge"
        )
    engine = create_engine(database_url)
    try:
        with engine.connect(), pytest.raises(BackupError) as refusal:
            restore(database_url, keycloak_database, backed_up)
    finally:
        engine.dispose()

    assert "ouvertes sur la base du pont : arrêtez le pont" in str(refusal.value)
    assert _names(sessions) == {"Avant la sauvegarde", "Après la sauvegarde"}


def test_a_failed_backup_leaves_no_file_behind(
    database_url: str, postgres_server: str, tmp_path: Path
) -> None:
    migrate(database_url)
    missing = postgres_server.rsplit("/", 1)[0] + "/base_absente"
    folder = tmp_path / "sauvegarde"

    with pytest.raises(BackupError, match=r"La base de Keycloak .* ne répond pas"):
        back_up(database_url, missing, folder)

    assert not folder.exists()


def _postgres_only(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("a SQLite store cannot be mistaken for Keycloak's PostgreSQL database")


def _shims(folder: Path, log: Path, *, fail: bool = False) -> Path:
    """pg_dump and pg_restore wrappers that record their argv and environment, then run the
    real tool (or fail, as a full disk would)."""
    folder.mkdir()
    for name in ("pg_dump", "pg_restore"):
        real = _tool(name)
        tail = f'echo "{name}: panne simulée" >&2; exit 1' if fail else f'exec "{real}" "$@"'
        shim = folder / name
        shim.write_text(
            f'#!/bin/sh\nprintf "argv %s\\n" "$@" >> "{log}"\nenv | sed "s/^/env /" >> "{log}"\n'
            f"{tail}\n"
        )
        shim.chmod(0o755)
    return folder


def test_a_backup_is_readable_by_its_owner_only(backed_up: Path) -> None:
    for path in [backed_up, *backed_up.iterdir()]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_a_failed_backup_leaves_no_folder_behind(
    sessions: sessionmaker[Session],
    database_url: str,
    keycloak_database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log = tmp_path / "appels.log"
    shims = _shims(tmp_path / "outils", log, fail=True)
    monkeypatch.setenv("PATH", f"{shims}{os.pathsep}{os.environ['PATH']}")
    folder = tmp_path / "sauvegarde"

    with pytest.raises(BackupError, match=r"\(pg_dump\) a échoué : pg_dump: panne simulée"):
        back_up(database_url, keycloak_database, folder)

    assert not folder.exists()


def test_no_password_reaches_the_tools_argv_or_environment(
    sessions: sessionmaker[Session],
    database_url: str,
    keycloak_database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "mot-de-passe:secret"  # the test server trusts loopback: any password works
    keycloak = make_url(keycloak_database).set(password=secret)
    store = database_url
    if not database_url.startswith("sqlite"):
        store = make_url(database_url).set(password=secret).render_as_string(False)
    log = tmp_path / "appels.log"
    monkeypatch.setenv(
        "PATH", f"{_shims(tmp_path / 'outils', log)}{os.pathsep}{os.environ['PATH']}"
    )
    monkeypatch.setenv("BRIDGE_DATABASE_URL", store)
    monkeypatch.setenv("BRIDGE_KEYCLOAK_DATABASE_URL", keycloak.render_as_string(False))
    folder = tmp_path / "sauvegarde"

    back_up(store, keycloak.render_as_string(False), folder)
    sessions.kw["bind"].dispose()
    restore(store, keycloak.render_as_string(False), folder)

    calls = log.read_text()
    assert "argv --format=custom" in calls  # the shims did run
    assert "argv --clean" in calls
    assert "mot-de-passe" not in calls
    assert "BRIDGE_" not in calls
    passfiles = [line.split("=", 1)[1] for line in calls.splitlines() if "PGPASSFILE=" in line]
    assert passfiles
    assert not any(Path(name).exists() for name in passfiles)


def test_a_keycloak_url_query_the_tools_would_not_get_is_refused(
    database_url: str, keycloak_database: str, tmp_path: Path
) -> None:
    with pytest.raises(BackupError, match="retirez-les"):
        back_up(database_url, f"{keycloak_database}?prepare_threshold=0", tmp_path / "s")
    assert not (tmp_path / "s").exists()


def test_a_keycloak_role_that_cannot_replace_its_database_is_refused_first(
    sessions: sessionmaker[Session],
    database_url: str,
    keycloak_database: str,
    backed_up: Path,
    postgres_server: str,
) -> None:
    role = f"lecteur_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    owner = create_engine(keycloak_database, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE ROLE {role} LOGIN"))
    with owner.connect() as connection:
        connection.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"))
    try:
        not_owner = make_url(keycloak_database).set(username=role).render_as_string(False)
        _bridge_stopped(sessions)
        with pytest.raises(BackupError) as refusal:
            restore(database_url, not_owner, backed_up)
    finally:
        with owner.connect() as connection:
            connection.execute(text(f"DROP OWNED BY {role}"))
        owner.dispose()
        with admin.connect() as connection:
            connection.execute(text(f"DROP ROLE {role}"))
        admin.dispose()

    assert f"Le rôle {role} ne peut pas remplacer la base de Keycloak" in str(refusal.value)
    assert _names(sessions) == {"Avant la sauvegarde", "Après la sauvegarde"}
    assert _emails(keycloak_database) == {"avant@exemple.fr", "apres@exemple.fr"}


def test_an_unreachable_keycloak_database_is_refused_first(
    sessions: sessionmaker[Session], database_url: str, keycloak_database: str, backed_up: Path
) -> None:
    absent = keycloak_database.rsplit("/", 1)[0] + "/base_absente"
    _bridge_stopped(sessions)

    with pytest.raises(BackupError, match="ne répond pas"):
        restore(database_url, absent, backed_up)

    assert _names(sessions) == {"Avant la sauvegarde", "Après la sauvegarde"}


def test_a_backup_of_a_database_that_is_not_keycloaks_is_refused(
    sessions: sessionmaker[Session], database_url: str, postgres_server: str, tmp_path: Path
) -> None:
    not_keycloak = database_url if database_url.startswith("postgresql") else postgres_server

    with pytest.raises(BackupError, match="n'est pas celle de Keycloak"):
        back_up(database_url, not_keycloak, tmp_path / "sauvegarde")

    assert not (tmp_path / "sauvegarde").exists()


def test_swapped_urls_are_refused(
    sessions: sessionmaker[Session], database_url: str, keycloak_database: str, backed_up: Path
) -> None:
    _postgres_only(database_url)
    _bridge_stopped(sessions)

    with pytest.raises(BackupError, match="n'est pas la base du pont"):
        restore(keycloak_database, database_url, backed_up)

    assert _names(sessions) == {"Avant la sauvegarde", "Après la sauvegarde"}
    assert _emails(keycloak_database) == {"avant@exemple.fr", "apres@exemple.fr"}


def test_the_same_url_twice_is_refused(
    sessions: sessionmaker[Session], database_url: str, keycloak_database: str, backed_up: Path
) -> None:
    _postgres_only(database_url)
    _bridge_stopped(sessions)

    with pytest.raises(BackupError, match="désignent la même base"):
        restore(database_url, database_url, backed_up)

    assert _names(sessions) == {"Avant la sauvegarde", "Après la sauvegarde"}


def test_a_backup_without_keycloak_version_is_refused_over_a_keycloak_database(
    sessions: sessionmaker[Session], database_url: str, keycloak_database: str, backed_up: Path
) -> None:
    manifest = json.loads((backed_up / MANIFEST).read_text())
    manifest["keycloak"]["version"] = None
    (backed_up / MANIFEST).write_text(json.dumps(manifest))

    said = _refused(sessions, database_url, keycloak_database, backed_up)

    assert "Keycloak (version inconnue)" in said


def test_a_missing_sqlite_store_is_refused_not_created(
    database_url: str, keycloak_database: str, backed_up: Path, tmp_path: Path
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("a PostgreSQL database that does not exist does not answer")
    mistyped = tmp_path / "pont-mal-tape.db"

    with pytest.raises(BackupError, match="n'existe pas : vérifiez BRIDGE_DATABASE_URL"):
        restore(f"sqlite:///{mistyped}", keycloak_database, backed_up)

    assert not mistyped.exists()
    assert _emails(keycloak_database) == {"avant@exemple.fr", "apres@exemple.fr"}


@pytest.mark.parametrize("outside", ["absolute", "parent"])
def test_a_manifest_naming_a_file_outside_the_folder_is_refused(
    sessions: sessionmaker[Session],
    database_url: str,
    keycloak_database: str,
    backed_up: Path,
    tmp_path: Path,
    outside: str,
) -> None:
    elsewhere = tmp_path / "ailleurs.dump"
    elsewhere.write_bytes((backed_up / KEYCLOAK_DUMP).read_bytes())
    manifest = json.loads((backed_up / MANIFEST).read_text())
    manifest["keycloak"]["fichier"] = (
        str(elsewhere) if outside == "absolute" else "../ailleurs.dump"
    )
    (backed_up / MANIFEST).write_text(json.dumps(manifest))

    said = _refused(sessions, database_url, keycloak_database, backed_up)

    assert "nomme un fichier inattendu" in said


def test_a_sqlite_copy_is_self_contained_and_a_restore_writes_nothing_beside_it(
    sessions: sessionmaker[Session], database_url: str, keycloak_database: str, backed_up: Path
) -> None:
    manifest = read_manifest(backed_up)
    if manifest["pont"]["moteur"] == "sqlite":
        # Bytes 18-19 of a SQLite header: 1, 1 for a rollback journal, 2, 2 for WAL (whose
        # readers create -wal and -shm files beside the database).
        assert (backed_up / manifest["pont"]["fichier"]).read_bytes()[18:20] == b"\x01\x01"
    _bridge_stopped(sessions)

    restore(database_url, keycloak_database, backed_up)

    assert {path.name for path in backed_up.iterdir()} == {
        MANIFEST,
        manifest["pont"]["fichier"],
        manifest["keycloak"]["fichier"],
    }


def test_a_keycloak_step_failing_after_the_checks_says_what_was_restored(
    sessions: sessionmaker[Session],
    database_url: str,
    keycloak_database: str,
    backed_up: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shims = tmp_path / "outils"
    shims.mkdir()
    shim = shims / "pg_restore"
    shim.write_text(  # Keycloak's restore fails, as a server gone away would make it
        '#!/bin/sh\ncase "$*" in *--clean*keycloak.dump*) '
        'echo "pg_restore: panne simulée" >&2; exit 1;; esac\n'
        f'exec "{_tool("pg_restore")}" "$@"\n'
    )
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{shims}{os.pathsep}{os.environ['PATH']}")
    _bridge_stopped(sessions)

    with pytest.raises(BackupError) as refusal:
        restore(database_url, keycloak_database, backed_up)

    said = str(refusal.value)
    assert "La base du pont a été restaurée, celle de Keycloak ne l'a pas été" in said
    assert "relancez la même restauration, ce qui est sans danger" in said
    assert _names(sessions) == {"Avant la sauvegarde"}
    assert _emails(keycloak_database) == {"avant@exemple.fr", "apres@exemple.fr"}
    monkeypatch.undo()
    _bridge_stopped(sessions)

    restore(database_url, keycloak_database, backed_up)  # again, now that Keycloak's answers

    assert _names(sessions) == {"Avant la sauvegarde"}
    assert _emails(keycloak_database) == {"avant@exemple.fr"}
